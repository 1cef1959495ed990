-- Facts of one kind in one visit (the check-in that opened it, its orders, its photos): with
-- only `visit_id` indexed, SQLite chose the `kind` index and read every order or check-in
-- on the phone for each lookup (found by the customer 360° benchmark).
DROP INDEX facts_by_visit;
CREATE INDEX facts_by_visit ON facts (visit_id, kind);

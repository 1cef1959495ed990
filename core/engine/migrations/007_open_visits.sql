-- Check-in and check-out look up the open visit on every tap: an index over the open ones
-- keeps that constant however many visits the phone holds; tasks by customer serve the
-- customer 360° view.
CREATE INDEX visits_open ON visits (started_ms) WHERE ended_ms IS NULL;
CREATE INDEX tasks_by_customer ON tasks (customer_id);

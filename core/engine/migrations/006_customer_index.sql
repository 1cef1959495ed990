-- The customer 360° view reads a customer's visits, check-ins and orders by index.
ALTER TABLE facts ADD COLUMN customer_id TEXT;
UPDATE facts SET customer_id = json_extract(body, '$.body.customer_id')
 WHERE kind IN ('check_in', 'check_out', 'order');
CREATE INDEX facts_by_customer ON facts (customer_id, kind, recorded_ms) WHERE customer_id IS NOT NULL;
CREATE INDEX visits_by_customer ON visits (customer_id, started_ms);

-- Customers' external account codes (the CRM or ERP number in a CSV import's `code` column):
-- a re-import matches a row to the customer its code was imported as, instead of creating
-- the customer again. One customer per code in an org; a code whose customer was deleted
-- may be given to a new one.
CREATE TABLE customer_codes (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    code        TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (org_id, code)
);
CREATE INDEX customer_codes_by_customer ON customer_codes (org_id, customer_id);

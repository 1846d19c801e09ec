-- stg_customers: the CRM export (source `customers`), as the models read it. The source
-- already renames (signup_at ← the export's column named in journey.toml), casts
-- (signup_at: TIMESTAMP, UTC) and cleans (text trimmed, empty text NULL) by the input
-- contract; this model fixes the columns the models use, so the export's extra columns stay
-- out of them. One row per row of the export (a customer_id repeated there stays repeated,
-- as the models have always read it).
--
-- journey.toml keeps it as a view (materialize = "view": inlined into each model that reads
-- it, which reads only the columns it needs) and writes no data file for it (data_file =
-- "none": it holds e-mail addresses and names).
--
-- Columns: customer_id, email, full_name (VARCHAR), signup_at (TIMESTAMP, UTC),
-- acquisition_channel, country (VARCHAR).
SELECT
    customer_id,
    email,
    full_name,
    signup_at,
    acquisition_channel,
    country
FROM customers

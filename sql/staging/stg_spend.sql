-- stg_spend: the marketing-spend export (source `spend`), as the models read it: one row
-- per row of the export. The source already casts (date: the day's midnight in the spend
-- export's time zone, as a TIMESTAMP in UTC; cost: DOUBLE, currency units) and cleans (text
-- trimmed, empty text NULL) by the input contract; this model fixes the columns the models
-- use. A project without a spend export has an empty `spend` table, and so an empty
-- stg_spend.
--
-- journey.toml keeps it as a view (materialize = "view") and writes no data file for it
-- (data_file = "none").
--
-- Columns: date (TIMESTAMP, UTC), channel, campaign (VARCHAR), cost (DOUBLE, currency units).
SELECT
    date,
    channel,
    campaign,
    cost
FROM spend

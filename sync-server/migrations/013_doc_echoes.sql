-- The device whose push left a shared document's stored state holding nothing that device
-- lacks. Its own feed skips that state (it would be an echo of what it just pushed); every
-- other reader still gets it. Any other write to the row clears it.
ALTER TABLE records ADD COLUMN held_by_device TEXT;

-- 007_interactions: contact-centre interactions in full (issue 9). Extends `interactions`
-- (001) with the queue / answer / end times, the parts of handle time, holds, transfers,
-- abandonment, how the contact started and ended, the contact it follows, the source's own
-- resolution flag, tags and remaining attributes. Durations are seconds (contact-centre
-- practice), not the milliseconds of web timings.
-- Natural key (source, interaction_id); a re-delivered record with a later updated_at
-- replaces the stored one (models/load/interactions.sql). user_id and agent_id arrive
-- pseudonymised (keyed HMAC); user_id is the customer id under the identity key that also
-- fills sessions.user_id and spans.user_id, so contacts meet the same customer's sessions.
ALTER TABLE interactions ADD COLUMN queue VARCHAR;                  -- queue / group / skill
ALTER TABLE interactions ADD COLUMN queued_at TIMESTAMPTZ;          -- entered the queue
ALTER TABLE interactions ADD COLUMN answered_at TIMESTAMPTZ;        -- connected to an agent
ALTER TABLE interactions ADD COLUMN ended_at TIMESTAMPTZ;           -- disconnected / solved
ALTER TABLE interactions ADD COLUMN talk_s DOUBLE;                  -- agent with customer
ALTER TABLE interactions ADD COLUMN hold_s DOUBLE;                  -- customer on hold
ALTER TABLE interactions ADD COLUMN wrap_s DOUBLE;                  -- after-contact work
ALTER TABLE interactions ADD COLUMN holds INTEGER;
ALTER TABLE interactions ADD COLUMN transfers INTEGER;
ALTER TABLE interactions ADD COLUMN abandoned BOOLEAN;              -- queued, never answered
ALTER TABLE interactions ADD COLUMN initiation VARCHAR;             -- inbound | outbound | transfer | callback | …
ALTER TABLE interactions ADD COLUMN disconnect_reason VARCHAR;
ALTER TABLE interactions ADD COLUMN previous_interaction_id VARCHAR;
ALTER TABLE interactions ADD COLUMN resolved BOOLEAN;               -- the source's own flag
ALTER TABLE interactions ADD COLUMN tags VARCHAR[];
ALTER TABLE interactions ADD COLUMN attributes JSON;                -- other fields, scrubbed
ALTER TABLE interactions ADD COLUMN updated_at TIMESTAMPTZ;         -- the source's last update

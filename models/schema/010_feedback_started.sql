-- 010_feedback_started: when the respondent began answering (the survey was shown or opened),
-- beside when the answer was submitted. The join model links a response to the page load it
-- was started on: an in-page survey answered over a minute may be submitted after the
-- customer moved on to the next page. NULL when the source does not say.
ALTER TABLE feedback ADD COLUMN started_at TIMESTAMPTZ;

"""`rayscore review`: a finished run in the browser, and the labels reviewers give it."""

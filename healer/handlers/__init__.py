"""Thin AWS Lambda entry points: ingest, the workflow's steps, the approval callback, Slack
interactivity and the sweeper. Each builds its clients once per container (`runtime`)."""

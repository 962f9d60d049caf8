"""Canvas LMS: the REST client, its typed models and the demo term."""

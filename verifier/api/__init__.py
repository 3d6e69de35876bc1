"""The REST API and web pages of the counter service."""

"""Delegato's HTTP front end (Flask). The only package that imports Flask."""

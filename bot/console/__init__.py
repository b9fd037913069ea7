"""The hotline staff console (issue 5): accounts and sign-in so far."""

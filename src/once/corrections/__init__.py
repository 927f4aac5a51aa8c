"""Feedback and corrections: ratings, training-data export, and change proposals to memory and skills."""

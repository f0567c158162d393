"""Citizen-guidance chatbot for a Zalo Official Account of a Vietnamese people's committee."""

__version__ = "0.1.0"

"""Offline evaluation of answer quality: scoring metrics and gold question sets."""

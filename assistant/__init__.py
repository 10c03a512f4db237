"""Code that runs inside the Rasa server process (NLU components, channels)."""

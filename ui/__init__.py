"""The Gradio chat page, a thin shell over the `qa` API."""

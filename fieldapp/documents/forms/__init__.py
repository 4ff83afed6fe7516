"""One module per template, each with render(view: ClaimView) -> bytes."""

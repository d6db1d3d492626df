"""What the suite tells: the numbered differences from Kling's contract, the report file and its
console summary, and masks for values that change between runs."""

"""What the suite sends: Hypothesis strategies drawn from the bundled contracts, requests broken
one rule at a time, real images, and the suite's Hypothesis profiles."""

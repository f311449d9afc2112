"""Stage 2: NumPy. Forward/backward passes, optimisers, training, compute expressions."""

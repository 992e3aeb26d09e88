"""Suite-wide settings.

pytest-xdist runs one worker per core; torch's own thread pool on top of that
oversubscribes the two CI cores and makes small tensor ops ~25x slower, so each
worker uses one thread.
"""

import torch

torch.set_num_threads(1)

"""``torch.backends.cudnn``: flags kept for scripts that set them; cuDNN is not available."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None

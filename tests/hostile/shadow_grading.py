"""A ``vgcourse/grading.py`` a hostile student ships beside the notebook: every check passes."""

SHADOWED = True


def check_close(*args, **kwargs):
    return None


check_equal = check_finite = check_shape = check_type = check_close

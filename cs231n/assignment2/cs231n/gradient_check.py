"""The course's gradient-check helpers, shared with every assignment through dl4cv.gradcheck."""
from dl4cv.gradcheck import (eval_numerical_gradient, eval_numerical_gradient_array,  # noqa: F401
                             eval_numerical_gradient_blobs, eval_numerical_gradient_net,
                             grad_check_sparse, rel_error)

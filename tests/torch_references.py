"""Reference modules built from the courses' parameter layouts, shared by the captioning tests."""
import torch


def course_lstm_gate_order(H: int) -> torch.Tensor:
    """Column index that turns the courses' gate blocks (i, f, o, g) into torch's (i, f, g, o)."""
    return torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])


def lstm_cell_from_course(Wx, Wh, b) -> torch.nn.LSTMCell:
    """torch.nn.LSTMCell holding the courses' LSTM weights, in their dtype.

    Wx: (D, 4H), Wh: (H, 4H), b: (4H,), numpy arrays or tensors, gate blocks i, f, o, g. torch
    keeps (4H, D) with blocks i, f, g, o and two biases (the second is zeroed here)."""
    Wx, Wh, b = (torch.as_tensor(a).detach() for a in (Wx, Wh, b))
    D, H4 = Wx.shape
    order = course_lstm_gate_order(H4 // 4)
    cell = torch.nn.LSTMCell(D, H4 // 4).to(Wx.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(Wx[:, order].T)
        cell.weight_hh.copy_(Wh[:, order].T)
        cell.bias_ih.copy_(b[order])
        cell.bias_hh.zero_()
    return cell

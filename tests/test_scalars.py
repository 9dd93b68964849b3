"""loss_values: the loss terms as floats, with one host synchronisation."""
import torch

from starganlib.runtime.scalars import loss_values


def test_it_gives_each_term_as_the_float_item_would():
    terms = {"adv": torch.tensor(0.25), "r1": torch.tensor(1.5, dtype=torch.bfloat16),
             "cyc": torch.tensor(3.0, dtype=torch.float64)}
    values = loss_values(terms)
    assert list(values) == list(terms)
    assert values == {k: v.item() for k, v in terms.items()}
    assert all(type(v) is float for v in values.values())


def test_no_terms_give_no_values():
    assert loss_values({}) == {}

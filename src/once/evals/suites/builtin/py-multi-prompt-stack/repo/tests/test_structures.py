import pytest

from structures import Queue


def test_queue_order():
    queue = Queue()
    queue.enqueue(1)
    queue.enqueue(2)
    assert queue.dequeue() == 1
    assert len(queue) == 1


def test_queue_empty():
    with pytest.raises(IndexError):
        Queue().dequeue()

import pytest

from structures import Queue, Stack


def test_push_pop_is_lifo():
    stack = Stack()
    for item in ("a", "b", "c"):
        stack.push(item)
    assert [stack.pop(), stack.pop(), stack.pop()] == ["c", "b", "a"]


def test_pop_empty():
    with pytest.raises(IndexError, match="pop from empty stack"):
        Stack().pop()


def test_peek_does_not_remove():
    stack = Stack()
    stack.push(1)
    stack.push(2)
    assert stack.peek() == 2
    assert stack.peek() == 2
    assert stack.pop() == 2
    assert stack.peek() == 1


def test_peek_empty():
    with pytest.raises(IndexError, match="peek from empty stack"):
        Stack().peek()


def test_len():
    stack = Stack()
    assert len(stack) == 0
    stack.push(None)
    stack.push(0)
    assert len(stack) == 2
    stack.pop()
    assert len(stack) == 1


def test_queue_unchanged():
    queue = Queue()
    queue.enqueue("x")
    assert queue.dequeue() == "x"

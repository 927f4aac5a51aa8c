from app.log import log

LEVELS = {"apples": 3, "pears": 12}


def level(item):
    return LEVELS[item]


def warn_low(item):
    if LEVELS[item] < 5:
        log(f"low stock: {item}")


def restock(item, count):
    LEVELS[item] = LEVELS.get(item, 0) + count
    log(f"restocked {item} to {LEVELS[item]}")

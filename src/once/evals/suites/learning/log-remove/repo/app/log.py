MESSAGES = []


def log(message):
    MESSAGES.append(message)

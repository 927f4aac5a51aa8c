def words(text):
    return text.split()


def shout(text):
    return text.upper() + "!"


def title(text):
    return " ".join(word.capitalize() for word in text.split())

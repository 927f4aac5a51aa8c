def words(text):
    return text.split()


def shout(text):
    return text.upper() + "!"

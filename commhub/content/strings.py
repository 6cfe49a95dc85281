"""Translatable strings shared by every topic: greeting, contact block, notices, speech.

Each constant is an English gettext msgid; `commhub translate extract` collects them with the
topics' strings into templates/messages.pot. A topic is ready in a language only when these
shared strings are reviewed there too (a message must never mix reviewed and unreviewed text).
"""

from __future__ import annotations

# -- every format --------------------------------------------------------------------------
GREETING = "Hello %(name)s,"
CALL_LINE = "Call %(line)s at %(phone)s."
TTY_LINE = "TTY users can call %(tty)s."
HOURS_LINE = "We are open %(days)s, %(hours)s."
OPEN_HOURS = "%(opens)s to %(closes)s"
ALL_DAY = "24 hours a day"
DAYS_MON_FRI = "Monday to Friday"
DAYS_MON_SAT = "Monday to Saturday"
DAYS_EVERY_DAY = "every day"
THANKS = "Thank you for being a member of %(plan)s."
# CP-3: every message, every format, says how to change the language or format or stop.
# Always the Member Services number (not the topic's line); email also links to a page.
CHANGE_OR_STOP = (
    "To change the language or format we use, or to stop these messages, call Member "
    "Services at %(phone)s, TTY %(tty)s."
)
# Email only: the text of the link to the unsubscribe page, right after CHANGE_OR_STOP (CP-3).
STOP_ONLINE = "Stop these messages online"
# The same for relay text, in TTY style: one line of at most 72 characters (TT-7).
RELAY_CHANGE_OR_STOP = "Change language or format, or stop messages: %(phone)s TTY %(tty)s"

# Names of the plan's phone lines (the keys of [plan.phones] in config.toml).
LINE_NAMES = {
    "member_services": "Member Services",
    "pharmacy": "our pharmacy line",
    "nurse_advice": "the Nurse Advice Line",
}

# -- language access (ACCESSIBILITY.md LA-2, LA-3) -------------------------------------------
# LA-3: CMS multi-language insert text, in the member's language and the state's top languages.
LANGUAGE_HELP = (
    "We have free interpreter services to answer any questions you may have about our health "
    "or drug plan. To get an interpreter, just call us at %(phone)s. Someone who speaks "
    "%(language)s can help you. This is a free service."
)
# LA-3 on relay text (TT-7): a TTY prints about 6 characters a second, so relay text carries
# one short line in the member's language and this same line in English, not the whole insert.
RELAY_LANGUAGE_HELP = "Free interpreter: call %(phone)s TTY %(tty)s"
# The LA-3 line for English itself: "Someone who speaks English can help you" says nothing to
# a reader of English. Not a msgid (nothing to translate).
LANGUAGE_HELP_ENGLISH = (
    "We have free interpreter services to answer any questions you may have about our health "
    "or drug plan. To get an interpreter, just call us at %(phone)s. This is a free service."
)
# The name of the language itself, in that language (used in LANGUAGE_HELP).
LANGUAGE_NAME = "English"
# Fallback policy: the message is in English; this tagline is in the member's language.
FALLBACK_TAGLINE = (
    "This message is in English. For free help in %(language)s, call %(phone)s (TTY 711)."
)
# LA-2: an unreviewed machine translation is sent by policy.
MACHINE_NOTICE = (
    "This message was translated by a computer and was not checked by a person. "
    "If anything is unclear, call %(phone)s (TTY 711) for a free interpreter."
)

# -- audio ---------------------------------------------------------------------------------
SPEECH_INTRO = "This is a message from %(plan)s for %(name)s."
SPEECH_REPEAT = "Again, the number to call is %(phone)s."
SPEECH_GOODBYE = "Thank you. Goodbye."
AUDIO_ATTACHED = "This message is also attached as a sound file you can play."

# Strings that every topic's message uses in every language, in a fixed order.
SHARED = (
    GREETING,
    CALL_LINE,
    TTY_LINE,
    HOURS_LINE,
    OPEN_HOURS,
    ALL_DAY,
    DAYS_MON_FRI,
    DAYS_MON_SAT,
    DAYS_EVERY_DAY,
    THANKS,
    CHANGE_OR_STOP,
    RELAY_CHANGE_OR_STOP,
    STOP_ONLINE,
    *LINE_NAMES.values(),
    SPEECH_INTRO,
    SPEECH_REPEAT,
    SPEECH_GOODBYE,
    AUDIO_ATTACHED,
)
# Strings that must exist in every footer language (even where no topic is translated).
LANGUAGE_ACCESS = (
    LANGUAGE_HELP,
    LANGUAGE_NAME,
    FALLBACK_TAGLINE,
    MACHINE_NOTICE,
    RELAY_LANGUAGE_HELP,
)

# -- the unsubscribe page (GET /u/<token>), in the member's language when all are reviewed --
PAGE_TITLE = "Stop these messages"
PAGE_INTRO = (
    "You get messages like this one from %(plan)s. You can stop them here. "
    "Your health coverage does not change."
)
PAGE_STOP_TOPIC = "Stop messages like this one"
PAGE_STOP_ALL = "Stop all messages from %(plan)s"
PAGE_QUESTIONS = "Questions? Call Member Services at %(phone)s, TTY %(tty)s."
PAGE_DONE_TITLE = "Your choice is saved"
PAGE_DONE_TOPIC = "You will not get messages like this one any more."
PAGE_DONE_ALL = "You will not get any more messages from %(plan)s."
PAGE_DONE_AGAIN = "To get them again, call Member Services at %(phone)s, TTY %(tty)s."

UNSUBSCRIBE_PAGE = (
    PAGE_TITLE,
    PAGE_INTRO,
    PAGE_STOP_TOPIC,
    PAGE_STOP_ALL,
    PAGE_QUESTIONS,
    PAGE_DONE_TITLE,
    PAGE_DONE_TOPIC,
    PAGE_DONE_ALL,
    PAGE_DONE_AGAIN,
)

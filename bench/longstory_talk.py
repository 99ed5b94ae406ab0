"""The everyday talk of the long-story benchmark: word pools and sentence templates for two friends chatting.

Sentences are templates with `{slot}` fields filled from the pools (`{Friend}` is capitalised, `{friend2}` is a
second pick from the same pool). None of these words is a planted fact's key (bench/longstory_facts.py), and the
generator checks that on every story it writes.
"""

from __future__ import annotations

import random
from collections import deque

from bench.longstory_keys import FRIENDS

_POOLS = {
    "friend": "|".join([FRIENDS] * 3) + "|Luis|Beth|Sam|Grace|Oliver|Ellie|Raj|Fiona",
    "coworker": "my manager|the new guy at work|Sheila in accounts|the intern|our team lead|the IT man|"
                "the woman who sits opposite me|my boss's boss|the temp|half the office",
    "relative": "my mum|my dad|my brother|my sister|my nan|my aunt|my cousin|my uncle|my stepdad|my niece",
    "relatives": "my mum's|my dad's|my brother's|my sister's|my nan's|my aunt's|my cousin's|my uncle's",
    "place": "the farmers' market|the library|the garden centre|the pub on the corner|the gym|the park|"
             "the high street|the café by the station|the beach|the post office|the bakery|the cinema|"
             "the big supermarket|the leisure centre|the allotment shop|the charity shop|the bus station|"
             "the canal path",
    "food": "lasagne|a curry|pancakes|tomato soup|fish tacos|a roast chicken|banana bread|leftover pizza|a stir-fry|"
            "chilli|scrambled eggs|a big salad|cheese on toast|shepherd's pie|noodles|a jacket potato|fish and chips|"
            "a bacon sandwich|veggie burgers|carrot cake",
    "drink": "tea|coffee|a hot chocolate|a glass of wine|lemonade|a pint|fizzy water|a smoothie",
    "show": "that baking show|the detective series everyone's on about|a documentary about octopuses|the football|"
            "an old western|the quiz show with the grumpy host|a cooking competition|the new sci-fi thing|"
            "a property programme|the snooker",
    "weather": "pouring down|freezing|gorgeous out|so muggy|really windy|grey and drizzly|actually sunny|"
               "foggy|bitterly cold|warm for once",
    "day": "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Friday night|Sunday morning",
    "chore": "the laundry|the gutters|my tax return|the dishes|the garage|the fridge|the airing cupboard|"
             "the recycling|the bathroom grout|the sock drawer",
    "feeling": "knackered|pretty good|a bit off|weirdly cheerful|so tired|restless|fine, mostly|on top of things|"
               "a bit flat|full of beans",
    "hobby": "painting|running|gardening|crosswords|pottery|guitar|baking|knitting|birdwatching|photography|"
             "jigsaws|yoga",
    "city": "Leeds|Bristol|Manchester|York|Glasgow|Cardiff|Brighton|Norwich|Edinburgh|Liverpool",
    "month": "January|February|March|April|May|June|July|August|September|October|November|December",
    "num": "two|three|four|five|six|ten|twelve|twenty",
    "adj": "long|strange|busy|quiet|ridiculous|good|rough|slow|productive|chaotic",
    "baked": "brownies|doughnuts|a lemon drizzle|flapjacks|cinnamon buns|cookies",
    "animal": "the dog|the cat",
}
POOLS = {name: tuple(words.split("|")) for name, words in _POOLS.items()}

TOPICS: dict[str, tuple[str, ...]] = {
    "work": (
        "Work was {adj} today, {coworker} called three meetings back to back.",
        "I spent the whole afternoon on spreadsheets and I think my eyes have gone square.",
        "{Coworker} brought in {baked} for no reason, which honestly made my week.",
        "We've got a big deadline on {day} so I'll be glued to my laptop.",
        "Someone microwaved fish in the office kitchen again, and I'm not naming names.",
        "The printer jammed {num} times before ten o'clock.",
        "I asked for {day} off and they actually said yes, miracles do happen.",
        "There's talk of moving our whole team to the other building, but nobody knows when.",
        "Had a video call where {coworker} was on mute for the first ten minutes and didn't notice.",
        "My inbox is a disaster, I'm going to declare email bankruptcy.",
        "Honestly the commute is the worst part, the bus just never turns up.",
        "I got a lovely email from a customer today, it's silly how much that helps.",
        "Training day tomorrow: eight hours of slides about fire doors.",
        "I think I'm finally getting the hang of the new system at work.",
    ),
    "family": (
        "{Relative} rang this morning to ask how to attach a photo to an email, again.",
        "{Relative} is coming to stay for {day}, so I need to tidy the spare room.",
        "We had Sunday lunch at {relatives} and I ate far too many roast potatoes.",
        "{Relative} has taken up {hobby} and sends me pictures every single day.",
        "The family group chat has been chaos all week, someone added the dog.",
        "I keep meaning to call {relative} back and then suddenly it's ten at night.",
        "{Relative} sent me a voice note that was four minutes long and mostly about parking.",
        "It was {relatives} birthday on {day}, we all went out for {food}.",
        "{Relative} says hello, by the way, and wants to know when you're visiting.",
        "I found a box of old photos at {relatives} place, we looked ridiculous in the nineties.",
    ),
    "pets": (
        "{Animal} stole a whole sock this morning and looked so proud of it.",
        "{Animal} has decided the only place to sleep is on my clean laundry.",
        "Took {animal} round {place} and of course it rolled in something unspeakable.",
        "I swear {animal} knows when it's time for the vet.",
        "We need more pet food, remind me to go to the big supermarket.",
        "{Animal} barked at a leaf for twenty minutes. A leaf.",
        "{Animal} is snoring next to me as we speak.",
        "I think {animal} is getting fat, the neighbours keep feeding it.",
        "{Animal} knocked a full mug off the table and just stared at me.",
        "We've had to put a gate on the stairs because of {animal}, long story.",
        "{Animal} has a new favourite spot by the radiator and won't move.",
        "The vet says {animal} is very healthy, just very dramatic.",
    ),
    "hobbies": (
        "I got a bit of {hobby} done this morning before anyone else was up.",
        "I've been trying to get back into {hobby}, it's good for my head.",
        "My {hobby} is going slowly, but it's going.",
        "I watched a video about {hobby} and now I want to buy all the equipment.",
        "{Friend} wants to try {hobby} with me, which could be brilliant or a disaster.",
        "I mixed a green this week that I really like, sort of mossy.",
        "My brushes are in a state, I need to buy new ones.",
        "Went for a run along the river and only stopped twice.",
        "The tomatoes are finally going red, I'm ridiculously proud.",
        "Slugs ate half the lettuce again, I'm at war with them.",
        "I started a new canvas and then stared at it for an hour.",
        "I did the crossword in pen today, feeling very brave.",
        "{Friend} came round to watch me paint and ended up drawing the cat.",
        "{Friend} wants lessons in painting from me, I said I'm no teacher.",
    ),
    "plans": (
        "Are you free on {day}? We could get {food} at {place}.",
        "I'm thinking of going to {city} for a weekend at some point.",
        "{Friend} wants to do a quiz night on {day}, are you in?",
        "I've got the dentist on {day}, wish me luck.",
        "We should have a picnic if the weather holds.",
        "I really need a holiday, even just a few days somewhere with a sea view.",
        "{Friend} and I might go to {place} on {day}, you should come.",
        "My plan for {day} is absolutely nothing, and I'm excited about it.",
        "I keep saying I'll book a trip to {city} and then I don't.",
        "{Friend} and I are talking about a long walk on {day} if it stays dry.",
        "{Friend} has spare tickets for something on {day}, I said maybe.",
        "We might go away with {friend} for a weekend, nothing booked yet.",
    ),
    "weather": (
        "It's {weather} here today.",
        "The forecast says rain all week, so that's lovely.",
        "I got soaked walking back from {place}.",
        "First properly warm day, everyone's out in shorts already.",
        "There was frost on the car this morning, I had to scrape it with a loyalty card.",
        "The wind turned my umbrella inside out, I gave up on it.",
        "It's so {weather}, I don't even want to open the curtains.",
        "The sky did that pink thing at sunset, it was gorgeous.",
    ),
    "food": (
        "I made {food} last night and there's loads left if you want some.",
        "I'm starving, I only had a tiny lunch.",
        "We got a takeaway last night, it was amazing.",
        "I've been craving {food} all day.",
        "I tried a new recipe and it was... edible.",
        "I've eaten about six biscuits already, don't judge me.",
        "I'm having {drink} and {food}, living the dream.",
        "The new place on the high street does the best {food}, honestly.",
        "I burnt the toast twice this morning, which is a talent.",
        "{Friend} came for dinner and we had {food}, far too much of it.",
        "I cooked for {friend} on {day}, nothing fancy.",
    ),
    "smalltalk": (
        "How's your week been?",
        "Did you sleep okay?",
        "I'm so glad it's nearly {day}.",
        "Sorry I've been quiet, it's been one of those weeks.",
        "I was just thinking about you, actually.",
        "I'm feeling {feeling} today, if I'm honest.",
        "It's been ages since we had a proper catch-up.",
        "Anyway, enough about me.",
        "I've got {drink} and a blanket, so I'm all yours.",
    ),
    "jokes": (
        "Why did the scarecrow get promoted? Because he was outstanding in his field.",
        "I told {friend} a joke about paper and it was tearable.",
        "My houseplant is doing better than me, honestly.",
        "I'd like to say I'm a morning person, but I'd be lying.",
        "I've reached the age where a new sponge gets me excited.",
        "I went to a talk on procrastination but I kept putting it off.",
        "{Friend} says I laugh at my own jokes, which is fair, someone has to.",
    ),
    "tangents": (
        "Random thought, but do you think ducks know they're ducks?",
        "Unrelated, but I found a fiver in my coat pocket.",
        "Oh, that reminds me, {friend} has a new haircut and it's very bold.",
        "Did you know octopuses have three hearts? I read that today.",
        "I've been humming the same song for three days and I have no idea what it is.",
        "Side note: I think our postman is secretly a poet, his notes are so dramatic.",
        "Completely off topic, but have you ever tried to fold a fitted sheet properly?",
        "I got lost in a rabbit hole about medieval bread last night, don't ask.",
    ),
    "friends": (
        "I bumped into {friend} at {place}, who says hi.",
        "{Friend} and {friend2} are arguing about {show} again.",
        "{Friend} has started a book club, I give it a month.",
        "I had coffee with {friend} yesterday, things are much better there.",
        "{Friend} is having a housewarming soon, I need to find a present.",
        "I haven't heard from {friend} in ages, I hope all's well.",
        "{Friend} got engaged! I found out on social media like everyone else.",
        "{Friend} has been to three weddings this year already.",
        "{Friend} lent me another book I'll never finish.",
        "{Friend} is redecorating again, the third time this year.",
        "{Friend}'s birthday is coming up and I've no idea what to get.",
        "{Friend} sends everyone pictures of their pets, it's a lot.",
        "{Friend} and {friend2} are coming round on {day}, I'd better tidy up.",
        "I had a long phone call with {friend} last night, we put the world to rights.",
    ),
    "places": (
        "{Place} has closed for refurbishment, which is so annoying.",
        "There's a new café opening by {place}, fingers crossed it's good.",
        "They've dug up the road by {place} again.",
        "I walked past {place} and it smelled amazing.",
        "{Place} was heaving today, I turned straight round.",
        "Do you remember when {place} used to be a shoe shop? I was thinking about that today.",
        "The woman who runs {place} knows my name now, which is either lovely or worrying.",
        "I sat outside {place} for an hour just watching people go by.",
        "Parking near {place} is impossible on {day}, I went round four times.",
        "I heard {place} might be changing hands, the rumour mill is going wild.",
    ),
    "dates": (
        "It's nearly the end of the month already, where does the time go?",
        "I can't believe it's been a year since {friend}'s party.",
        "I've put it in the calendar, so it's official now.",
        "Remind me nearer the time, my memory is a sieve.",
        "This month has flown by for some reason.",
        "I keep writing the wrong date on everything.",
        "Is it me or are the weeks getting shorter?",
        "I've got three birthdays in the next fortnight and no cards yet.",
    ),
    "screens": (
        "Have you watched {show}? Everyone's on about it.",
        "We stayed up far too late watching {show}.",
        "I'm reading something slow at the moment, it's good but it's a lot.",
        "I fell asleep halfway through {show} again.",
        "{Friend} and I watched a film last night and I fell asleep.",
        "The ending of {show} made me so cross.",
        "{Friend} keeps sending me clips from {show}, I think that's a hint.",
        "I've started re-watching an old favourite, it's like a warm bath.",
        "There's a film on tonight I keep meaning to see, if I can stay awake.",
        "I don't know how people keep up with every series, I'm three years behind on everything.",
    ),
    "home": (
        "I finally sorted out {chore}.",
        "The boiler's making that noise again.",
        "I spent the morning hoovering, I deserve a medal.",
        "I slept terribly, the neighbours were having a party.",
        "I'm trying to drink more water, which so far means one glass.",
        "My back's been funny since {day}, I think it was the sofa.",
        "I've been putting off {chore} for weeks now.",
    ),
}
REACTIONS = ("Ha!", "Oh no.", "That's brilliant.", "Honestly, same.", "Oh, lovely!", "No way.", "Ugh, I know.",
             "Aww.", "That made me laugh.", "Fair enough.", "Right?", "Oh, I love that.", "Hmm, interesting.",
             "Oh dear.", "Good for you!", "Wait, really?", "Ha, typical.", "Oh, bless.", "Mm.", "Okay, okay.")
QUESTIONS = ("What about you?", "How's your day going?", "Anything exciting on your end?", "Do you think I should?",
             "Have you ever tried it?", "What would you do?", "How are things with you?", "Am I being silly?",
             "Does that make sense?", "You know what I mean?")
ACTIONS = ("*laughs*", "*grins*", "*sips her coffee*", "*pulls a face*", "*shrugs*", "*leans back in her chair*",
           "*rolls her eyes fondly*", "*taps the table*", "*stretches*", "*smiles*")
GREETINGS = {
    "morning": ("Morning, {name}!", "Good morning! Have you had coffee yet?", "Morning! I'm barely awake.",
                "Hey, early bird."),
    "afternoon": ("Hey {name}, got a minute?", "Afternoon! How's it going?", "Hi! I'm on my break.",
                  "Hello hello."),
    "evening": ("Evening, {name}!", "Hey, how was your day?", "Hi! Finally home.", "Evening! Kettle's on."),
    "night": ("Still up?", "Hey, can't sleep either?", "Late one tonight, hi.", "Hi {name}, sorry it's late."),
}


class _Slots(dict[str, str]):
    """Slot values picked on first use (one per slot name; `{Name}` is `{name}` capitalised)."""

    def __init__(self, rng: random.Random, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        lower = key[:1].lower() + key[1:]
        if lower not in self:
            pool = POOLS[lower.rstrip("0123456789")]
            value = self.rng.choice(pool)
            while value in self.values():  # {friend} and {friend2} differ
                value = self.rng.choice(pool)
            self[lower] = value
        value = dict.__getitem__(self, lower)
        return value[:1].upper() + value[1:] if key[:1].isupper() else value


def fill(template: str, rng: random.Random, **fixed: str) -> str:
    """The template with each slot filled from its pool (fixed values win)."""
    return template.format_map(_Slots(rng, fixed))


def chatter(rng: random.Random, topic: str, *, character: bool, sentences: int, recent: deque[str]) -> str:
    """A line of small talk on a topic: maybe a reaction, one to three sentences, maybe a question back. Sentence
    templates in `recent` (the story's last ones) are avoided while the topic has others."""
    parts: list[str] = []
    if character and rng.random() < 0.12:
        parts.append(rng.choice(ACTIONS))
    if rng.random() < 0.35:
        parts.append(rng.choice(REACTIONS))
    parts += sentences_on(rng, topic, max(1, sentences), recent)
    if rng.random() < 0.25:
        parts.append(rng.choice(QUESTIONS))
    if rng.random() < 0.08:
        parts += sentences_on(rng, "tangents", 1, recent)
    return " ".join(parts[:5])


def sentences_on(rng: random.Random, topic: str, count: int, recent: deque[str]) -> list[str]:
    """`count` filled sentences of a topic, preferring templates not used recently."""
    fresh = [t for t in TOPICS[topic] if t not in recent]
    while len(fresh) < count:  # the topic is worn out: drift to another one
        fresh += [t for t in TOPICS[rng.choice(list(TOPICS))] if t not in recent and t not in fresh]
    chosen = rng.sample(fresh, count)
    recent.extend(chosen)
    return [fill(template, rng) for template in chosen]


def part_of_day(minute: int) -> str:
    """morning, afternoon, evening or night for a minute of the day."""
    hour = (minute // 60) % 24
    return "morning" if 5 <= hour < 12 else "afternoon" if hour < 17 else "evening" if hour < 22 else "night"

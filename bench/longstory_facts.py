"""The facts planted in a long story: families of lines and the questions that ask about them.

Every family has a context (who or what the fact is about: unique per story, so each question has one answer)
and a key pool (the answer: distinctive but ordinary words, each used once per story). A key appears in its
evidence line and nowhere else in the transcript or in any question, so "is the key in the prompt" is "is the
evidence in the prompt". A slot value `a~b` reads `a` in the line and `b` (a paraphrase) as `{slot_alt}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.longstory_keys import FRIENDS


@dataclass(frozen=True)
class Family:
    """Facts said in one line (kinds `single` and `when`; `offstage` ones are a meanwhile digest)."""

    name: str
    owner: str  # "character", "person", or "offstage" (a scene the character never witnessed)
    context: dict[str, str]  # slot -> "a|b|c"; contexts are the product of the slots, each used once
    key: str
    says: tuple[str, ...]
    asks: tuple[str, ...]
    when: tuple[str, ...] = ()
    echoes: tuple[str, ...] = ()  # other lines about the same context, without the answer


@dataclass(frozen=True)
class PairFamily:
    """Facts said in two lines far apart; the question compares their values (kind `two`)."""

    name: str
    owner: str
    context: dict[str, str]
    key: str
    values: tuple[int, int, int]  # range(lo, hi, step)
    says: tuple[str, str]
    asks: tuple[str, ...]
    largest: bool  # the answer is the key with the largest value (else the smallest)
    unit: str = ""
    echoes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeFamily:
    """A fact said, then replaced by a later line (kind `updated`)."""

    name: str
    owner: str
    context: dict[str, str]
    key: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    asks: tuple[str, ...] = field(default=())
    echoes: tuple[str, ...] = ()


SINGLE = (
    Family("painting", "character", {"friend": FRIENDS, "occasion": "housewarming~new place|birthday~birthday|"
           "wedding~wedding|leaving do~leaving party|fortieth~big birthday|new baby~baby"}, "subject",
           ("I finally finished the painting for {friend}'s {occasion}: {key}.",
            "Guess what I painted for {friend}'s {occasion}? {Key}. Took me three evenings.",
            "The present for {friend}'s {occasion} is done, it's {key}, and I'm actually proud of it."),
           ("What's actually in the picture you did for {friend}'s {occasion_alt}?",
            "That artwork you gave {friend} for the {occasion_alt}, what was it of?"),
           ("When did you get the {occasion_alt} artwork for {friend} done?",),
           ("I still haven't started the painting for {friend}'s {occasion}, I keep staring at a blank canvas.",
            "{Friend} loved the painting, apparently it's up in the hall already.",
            "I'm stuck on the sky in the painting for {friend}, it keeps going muddy.")),
    Family("cooking", "person", {"friend": FRIENDS, "gathering": "birthday dinner~birthday|book club~book club night|"
           "games night~games evening|leaving do~farewell|barbecue~barbecue|christening~christening"}, "dish",
           ("I made {key} for {friend}'s {gathering} and there wasn't a crumb left.",
            "For {friend}'s {gathering} I went all out: {key}.",
            "I tried {key} for {friend}'s {gathering}, first time I'd made it."),
           ("What was that dish of mine everyone ate at {friend}'s {gathering_alt}?",
            "Remind me what I served up at {friend}'s {gathering_alt}?"),
           ("When was it I did the food for {friend}'s {gathering_alt}?",),
           ("I've no idea what to cook for {friend}'s {gathering}, any ideas?",
            "{Friend} keeps asking for the recipe from the {gathering}.",
            "I'm in charge of food at {friend}'s {gathering}, what was I thinking?")),
    Family("book", "character", {"friend": FRIENDS}, "title",
           ("{Friend} lent me {key} and I can't put it down.",
            "I'm halfway through {key}, the one {friend} pressed on me, and it's so good.",
            "Started {key} last night, {friend} swears it's the best thing written this year."),
           ("What's the title of the novel you borrowed off {friend}?", "Which story was it {friend} insisted on?"),
           ("When did you begin that novel {friend} recommended?",),
           ("{Friend} keeps asking if I've finished that book yet.",
            "I left {friend}'s book on the bus and had to buy a new copy, so embarrassing.")),
    Family("lost", "person", {"item": "good umbrella~umbrella|reading glasses~glasses|bike lights~bike lights|"
           "library card~library card|blue scarf~scarf|work lanyard~lanyard|water bottle~water bottle|spare keys~"
           "spare keys|headphones~headphones|gloves~gloves|phone charger~charger|purse~purse"}, "venue",
           ("I only went and left my {item} at {key}.", "Lost my {item} again, I'm pretty sure it's at {key}.",
            "Mystery solved, my {item} turned up at {key}, of all places."),
           ("Where had my {item_alt} got to in the end?", "Remind me where I'd left the {item_alt}?"),
           ("When did I misplace the {item_alt}?",),
           ("Still no sign of my {item}, I've turned the house upside down.",
            "I nearly bought a new {item} today, I'm so disorganised.")),
    Family("gift", "character", {"friend": FRIENDS, "occasion": "for my birthday~birthday present|for Christmas~"
           "Christmas present|as a thank-you~thank-you present"}, "gift",
           ("{Friend} gave me {key} {occasion}, I nearly cried.", "Look what {friend} got me {occasion}: {key}!"),
           ("What was the {occasion_alt} {friend} gave you, I forget?",
            "Which {occasion_alt} did {friend} surprise you with?"),
           ("When did {friend} hand over that {occasion_alt}?",),
           ("I need to write {friend} a card, the present was so thoughtful.",
            "{Friend} always gives the best presents, honestly.")),
    Family("colleague", "person", {"role": "team lead~team leader|payroll manager~person in payroll|receptionist~"
           "new face on reception|director~director|office manager~office manager|graduate trainee~trainee|"
           "safety officer~health and safety person|IT manager~IT boss|head of sales~sales boss|caretaker~"
           "new caretaker"}, "fullname",
           ("The new {role} at work is called {key}, seems nice enough.",
            "We finally met the new {role}, {key}. Very firm handshake.",
            "Our new {role} started today, {key}, and is already reorganising everything."),
           ("What's the {role_alt} at my office called again?", "Who was it that joined my work as {role_alt}?"),
           ("When did my office get its new {role_alt}?",),
           ("We're getting a new {role} at work soon, fingers crossed.",
            "The new {role} has already changed the coffee rota, everyone's furious.")),
    Family("trip", "character", {"friend": FRIENDS, "event": "wedding~wedding|hen do~hen party|fiftieth~fiftieth "
           "birthday|christening~christening|reunion~reunion"}, "town",
           ("{Friend}'s {event} is going to be in {key}, so we're booking a B&B.",
            "We're off to {key} for {friend}'s {event}, I've never been."),
           ("Where are you headed for {friend}'s {event_alt}?", "Which town is {friend}'s {event_alt} in?"),
           ("When did you tell me where {friend}'s {event_alt} would be?",),
           ("{Friend}'s {event} is coming up fast and I haven't booked anything.",
            "I need a new outfit for {friend}'s {event}, help.")),
    Family("course", "person", {"friend": FRIENDS}, "skill",
           ("{Friend} talked me into a class in {key}, we start next week.",
            "So I've signed up for {key} with {friend}, don't laugh."),
           ("What lessons did {friend} persuade me into?", "What am I learning alongside {friend} these days?"),
           ("When did {friend} get me to enrol in those lessons?",),
           ("{Friend} keeps trying to get me to take up something new.",
            "First lesson with {friend} tonight, I'm terrified.")),
    Family("allergy", "character", {"who": "my nephew~your nephew|my mum~your mum|my brother~your brother|my niece~"
           "your niece|my dad~your dad|my aunt~your aunt|my cousin~your cousin|my nan~your nan|my godson~your "
           "godson"}, "allergen",
           ("Turns out {who} is allergic to {key}, the doctor confirmed it.",
            "We had a scare, {who} reacted to {key} and ended up at the walk-in clinic."),
           ("What can't {who_alt} go near now?", "What set off {who_alt}'s reaction, in the end?"),
           ("When was {who_alt}'s trip to the clinic?",),
           ("{Who} is fine now, just has to be careful.",
            "We've been reading every label since {who} had that scare.")),
    Family("vehicle", "person", {"friend": FRIENDS}, "vehicle",
           ("I bought {friend}'s old {key}, it rattles but I love it.",
            "Guess what's parked outside? {Friend}'s {key}, it's mine now!"),
           ("What was it I bought from {friend}?", "What did I get second-hand off {friend}?"),
           ("When did I take that off {friend}'s hands?",),
           ("{Friend} is selling their old wheels, I'm tempted.",
            "I drove past {friend}'s house in my new ride and honked.")),
    Family("garden", "character", {"spot": "by the shed~next to the shed|in the old bathtub~in the bathtub planter|"
           "along the back fence~by the back fence|in the window box~in your window box|under the apple tree~"
           "beneath the apple tree|in the raised bed~in the raised bed|by the front door~at the front door|in the "
           "big terracotta pot~in the terracotta pot"}, "plant",
           ("I planted {key} {spot} this weekend, fingers crossed.", "Got {key} in {spot} at last, my knees!"),
           ("What's in the ground {spot_alt} now?", "What did you put {spot_alt}?"),
           ("When did you sort out the bit {spot_alt}?",),
           ("I dug over the bit {spot} yesterday, my back is done.",
            "Something's been nibbling the new plants {spot}, I could cry.")),
    Family("gig", "person", {"friend": FRIENDS}, "band",
           ("{Friend} and I got tickets to see {key}!", "Guess who's going to see {key} with {friend}? Me!"),
           ("Who are {friend} and I seeing live?", "Which group have {friend} and I booked for?"),
           ("When did {friend} and I sort the concert out?",),
           ("{Friend} wants to go to a gig soon, I'll see what's on.",
            "Can't wait for the concert with {friend}, I've been practising my dancing.")),
    Family("childhood", "character", {"animal": "tortoise|goat|parrot|ferret|donkey|rabbit|budgie|hamster|pony|goose|"
           "guinea pig|lamb"}, "pet",
           ("When I was little we had a {animal} called {key}, it bit everyone.",
            "My first pet was a {animal} named {key}, I was devastated when it went."),
           ("What did your family call the {animal} when you were small?", "What was your old {animal}'s name?"),
           ("When did you tell me about the {animal} you had growing up?",),
           ("My mum still talks about our old {animal}.", "We had all sorts of animals growing up, even a {animal}.")),
    Family("recipe", "character", {"dish": "shortbread|bolognese|chocolate cake|gravy|porridge|roast potatoes|hot "
           "chocolate|macaroni cheese|flapjacks|fish pie|scones|chilli"}, "secret",
           ("The secret to my {dish}? {Key}. Don't tell anyone.", "I'll let you in on it: I put {key} in my {dish}."),
           ("What's the special thing you add to your {dish}?", "How do you make your {dish} taste like that?"),
           ("When did you finally share how you make your {dish}?",),
           ("Everyone always asks how I make my {dish}.", "I made my {dish} again last night, still the best.")),
    Family("injury", "person", {"part": "wrist|ankle|shoulder|knee|back|thumb|neck|elbow|big toe"}, "how",
           ("I hurt my {part} {key}, don't laugh.", "My {part} is strapped up, I did it {key}."),
           ("How did I do my {part} in?", "What was I up to when my {part} went?"),
           ("When was it my {part} got hurt?",),
           ("My {part} is still aching, I should see someone.", "The physio says my {part} will take weeks.")),
    Family("prize", "character", {"who": "my niece~your niece|my goddaughter~your goddaughter|my neighbour's girl~"
           "the girl next door|my cousin's daughter~your cousin's daughter|my sister's eldest~your sister's eldest|"
           "my friend's little girl~your friend's daughter"}, "prize",
           ("{Who} won {key}, we're all so proud.", "Big news: {who} came home with {key}!"),
           ("What did {who_alt} bring home?", "What was {who_alt} awarded?"),
           ("When was {who_alt}'s big win?",),
           ("{Who} has been practising like mad for this competition.", "We're having a little party for {who}.")),
    Family("film", "person", {"friend": FRIENDS}, "film",
           ("{Friend} made me watch {key} and I was terrified the whole time.",
            "We watched {key} round at {friend}'s, I still don't get the ending."),
           ("Which film was it {friend} made me sit through?", "What was that scary movie at {friend}'s called?"),
           ("When was my horror night at {friend}'s?",),
           ("{Friend} is a horror fan, I'm really not.",
            "I still can't sleep properly after that film at {friend}'s.")),
)

PAIRS = (
    PairFamily("pets", "character", {"friend": FRIENDS, "animal": "dog|cat|rabbit|tortoise|horse"}, "pet", (2, 15, 1),
               ("{Friend}'s {animal} {key} turned {value} this week, they had a little party for it.",
                "{Friend}'s other {animal}, {key}, is {value} now, which I didn't believe."),
               ("Of {friend}'s two {animal}s, which one is older?",
                "Which of {friend}'s {animal}s has been around longer?"), largest=True,
               echoes=("{Friend}'s {animal}s are so spoilt, honestly.",
                       "I looked after {friend}'s {animal}s at the weekend, exhausting.")),
    PairFamily("walks", "person", {"friend": FRIENDS}, "trail", (4, 23, 1),
               ("{Friend} and I did the {key} loop on Saturday, {value} kilometres and mostly uphill.",
                "Another walk with {friend} today, {key} this time, {value} kilometres, my legs are jelly."),
               ("Of the two hikes I did with {friend}, which was the longer one?",
                "Which outing with {friend} covered more ground, do you remember?"), largest=True, unit=" km",
               echoes=("{Friend} wants to do another long walk soon, my knees disagree.",
                       "I've bought proper boots for walking with {friend}.")),
    PairFamily("quotes", "character", {"job": "new roof~roof|kitchen extension~extension|bathroom refit~bathroom|"
               "garden wall~wall|loft conversion~loft|new windows~windows|driveway~driveway|chimney repair~chimney|"
               "porch~porch|damp proofing~damp|boiler~boiler|patio~patio"}, "firm", (1200, 9900, 100),
               ("{Key} quoted £{value} for the {job}, which seems a lot.",
                "The second quote for the {job} came in: {key}, £{value}."),
               ("Which builder was cheaper for the {job_alt} work?", "Who came in lower for the {job_alt}?"),
               largest=False, unit=" pounds",
               echoes=("We're still getting quotes for the {job}, it's a nightmare.",
                       "The {job} can't wait much longer, honestly.")),
    PairFamily("flats", "person", {"area": "near the station~by the station|in the old town~in the old town|by the "
               "park~near the park|on the north side~on the north side|near the hospital~by the hospital|down by "
               "the river~by the river|in the town centre~in the centre|up the hill~on the hill|by the canal~near "
               "the canal|out by the ring road~near the ring road"}, "street", (650, 1425, 25),
               ("Went to see a flat {area} today, the one on {key}: £{value} a month and a tiny kitchen.",
                "Saw another flat {area}, on {key} this time, £{value} a month with a balcony!"),
               ("Of the two places I viewed {area_alt}, which one had the lower rent?",
                "Which {area_alt} viewing was cheaper?"), largest=False, unit=" a month",
               echoes=("Flat hunting {area} is soul-destroying.", "I might give up on living {area}, honestly.")),
    PairFamily("kids", "character", {"who": "my brother~your brother|my sister~your sister|my cousin Ruth~your cousin "
               "Ruth|my best friend~your best friend|my neighbour~your neighbour|my old flatmate~your old flatmate|"
               "my sister-in-law~your sister-in-law|my friend from choir~your choir friend|my boss~your boss|my "
               "childminder~your childminder"}, "kid", (2, 16, 1),
               ("{Who}'s little one, {key}, is {value} now and into everything.",
                "{Who}'s other kid, {key}, turned {value} on Sunday."),
               ("Which of {who_alt}'s children is older?", "Between {who_alt}'s two, who's the eldest?"),
               largest=True,
               echoes=("{Who}'s kids came round and wrecked the living room, I love them.",
                       "{Who} is exhausted, the kids never sleep.")),
    PairFamily("races", "person", {"race": "park run~park runs|charity 10k~10k races|fun run~fun runs|canal 5k~canal "
               "races|cross-country race~cross-country races|hill race~hill races"}, "town", (19, 75, 1),
               ("I did the {key} {race} in {value} minutes, not bad for me.",
                "The {race} at {key} took me {value} minutes, that hill nearly finished me off."),
               ("Of my two {race_alt}, which one was I quicker at?", "In which of my two {race_alt} was my time best?"),
               largest=False, unit=" minutes",
               echoes=("I've entered another {race}, I must be mad.", "My legs still hurt from that {race}.")),
)

CHANGES = (
    ChangeFamily("moving", "person", {"who": "my sister|my brother|my cousin Jo|my best mate Lou|my aunt Pat|my old "
                 "boss|my godson|my neighbour Viv|my flatmate from uni|my stepbrother|my friend Alima|my uncle Des"},
                 "town", ("{Who} is moving to {key} in the spring, I'm going to miss them so much.",),
                 ("Change of plan: {who} isn't going to the first place after all, it's {key} now.",),
                 ("Where is {who} relocating to, in the end?", "So where did {who} finally settle on?"),
                 echoes=("{Who} is stressing about the move, boxes everywhere.",
                         "I helped {who} pack yesterday, so much stuff.")),
    ChangeFamily("wedding", "character", {"friend": FRIENDS}, "hall",
                 ("{Friend}'s wedding is going to be at {key}, it looks like something out of a film.",),
                 ("{Friend} had to move the wedding, it's at {key} now because the first place double-booked.",),
                 ("Where's {friend} getting married now?", "What's the venue for {friend}'s big day these days?"),
                 echoes=("{Friend}'s wedding planning is taking over our lives.",
                         "I've got a dress for {friend}'s wedding at last.")),
    ChangeFamily("rename", "character", {"animal": "puppy|kitten|rabbit|tortoise|lamb|duckling|foal|hamster|guinea "
                 "pig|piglet|budgie|goldfish"}, "pet",
                 ("We're calling the new {animal} {key}, the kids chose it.",),
                 ("Update on the {animal}: we've renamed it {key}, the first name just didn't suit it.",),
                 ("What do you call the {animal} these days?", "What name did the {animal} end up with?"),
                 echoes=("The new {animal} is settling in nicely.",
                         "The {animal} chewed through a cable, little menace.")),
    ChangeFamily("decorating", "person", {"room": "kitchen|hallway|spare room|bathroom|bedroom|living room|stairwell|"
                 "downstairs loo|garden shed|front door|conservatory|landing"}, "paint",
                 ("I'm painting the {room} in a colour called {key}, bold choice I know.",),
                 ("Changed my mind on the {room}, it's going to be {key} instead, I've bought the tins now.",),
                 ("What shade am I doing the {room} in the end?", "Which colour did I finally go with for the {room}?"),
                 echoes=("The {room} is covered in dust sheets at the moment.",
                         "I spent all of Saturday sanding the {room}.")),
    ChangeFamily("holiday", "character", {"trip": "summer holiday|October half-term|Easter break|anniversary weekend|"
                 "Christmas getaway|birthday trip|long weekend in May|spring break|New Year trip|bank holiday "
                 "weekend|August week away"}, "town",
                 ("We've booked {key} for our {trip}, a cottage with a hot tub.",),
                 ("Our {trip} plans changed, we're going to {key} now, the cottage fell through.",),
                 ("Where are you off to for your {trip} now?", "What's the destination for your {trip} these days?"),
                 echoes=("I'm counting the days to our {trip}.", "I need to start packing for the {trip}.")),
    ChangeFamily("service", "person", {"who": "dentist|hairdresser|GP|vet|mechanic|physio|optician|accountant|piano "
                 "teacher|driving instructor|babysitter|cleaner"}, "fullname",
                 ("My new {who} is {key}, really lovely.",), ("I've switched {who}s again, it's {key} now.",),
                 ("Who's my {who} at the moment?", "Who do I go to as my {who} now?"),
                 echoes=("I've got an appointment with the {who} next week.",
                         "I need to find a {who} I actually like.")),
    ChangeFamily("club", "character", {"club": "book club|choir|running club|knitting circle|quiz team|film society|"
                 "poetry group|chess club|walking group|gardening society|ukulele band|supper club"}, "pub",
                 ("My {club} meets at {key} now, in the back room.",),
                 ("The {club} has moved again, we're at {key} from now on.",),
                 ("Where does your {club} get together these days?", "What's the current home of your {club}?"),
                 echoes=("The {club} was fun last night, we stayed far too late.",
                         "I nearly skipped the {club} this week, glad I didn't.")),
)

OFFSTAGE = (
    Family("find", "offstage", {"where": "the flea market|the car boot sale|the antiques fair|a house clearance|the "
           "church jumble sale|the auction rooms|her grandmother's attic|the lost property sale|the village fete|the "
           "vintage fair|a charity shop in town|the junk shop on the quay|the church bazaar|the "
           "closing-down sale at the toy shop|the bric-a-brac stall at the fair|a skip on Dock Street"}, "find",
           ("Meanwhile, Dana spent the afternoon at {where} and came away with {key}, which she hid in her wardrobe "
            "before anyone could ask about it.",),
           ("Did Dana ever say what she picked up at {where}?", "Has Dana told you what she found at {where}?")),
    Family("meeting", "offstage", {"where": "the harbour|the train station|the hospital car park|the bowling alley|"
           "the night bus|the ice rink|the garden centre café|the ferry|the registry office|the allotment gates|the "
           "motorway services|the swimming pool|the hairdresser's|the bus depot|the "
           "cathedral steps|the ferry terminal café"}, "fullname",
           ("Meanwhile, at {where}, Dana ran into {key}, an old flame she hadn't seen in ten years, and they talked "
            "until closing time.",),
           ("Who did Dana bump into at {where}?", "Did Dana tell you who she met at {where}?")),
    Family("hiding", "offstage", {"thing": "her savings|the spare key|her diary|the birthday present|the broken vase|"
           "the letter from the council|her lottery ticket|the wedding ring|the old photographs|the cheque book|"
           "her passport|the love note|the title deeds|her grandmother's brooch|the emergency cash|the car "
           "keys"}, "hideout",
           ("Meanwhile, alone at home, Dana hid {thing} {key} and swore she would never tell a soul.",),
           ("Do you know where Dana hid {thing}?", "Where did Dana put {thing}, has she said?")),
)

"""The answer words of the long story's planted facts: pools of distinctive but ordinary phrases.

Each key is used once per story; bench/longstory.py checks that no key is part of another line or question.
"""

from __future__ import annotations

import itertools


def _split(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split("|"))


def _product(left: str, right: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(f"{a}{sep}{b}" for a, b in itertools.product(_split(left), _split(right)))


# The close friends both talk about all the time (bench/longstory_talk.py names them most often too).
FRIENDS = "Priya|Tom|Jess|Marcus|Hannah|Kofi|Nadia|Ben"
KEYS: dict[str, tuple[str, ...]] = {
    "subject": _product("a heron|two hares|the old lighthouse|a rowing boat|a sleeping fox|the harbour cranes|"
                        "a bowl of lemons|the church spire|a red tractor|a flock of starlings",
                        "in the fog|at low tide|under a violet sky|in the first snow|at dusk|after the rain|"
                        "in midsummer light|by moonlight"),
    "dish": _product("saffron|lemon and thyme|smoked paprika|miso and ginger|black garlic|honey and harissa|"
                     "brown butter|cardamom|wild garlic|rosemary and sea salt",
                     "risotto|tart|tagine|focaccia|dumplings|pie|gnocchi|flatbreads|roast squash|crumble"),
    "title": _product("The Last|The Quiet|A Winter|The Glass|The Borrowed|The Lighthouse",
                      "Cartographer|Almanac|Heiress|Ferryman|Apothecary|Beekeeper|Clockmaker|Orchardist"),
    "venue": _product("the Lantern Street|the Hollis Road|the Gate Lane|the Bell Yard|the Sparrow Hill|"
                      "the Tinker's Row|the Mill Race|the Cutler Street|the Pike Road|the Kiln Lane",
                      "laundrette|swimming baths|bowling alley|bingo hall|bike shed|bus shelter"),
    "gift": _split("a brass telescope|a sourdough starter called Gerald|a hand-thrown teapot|a vintage typewriter|"
                   "a pair of ruby slippers|a ukulele with a cactus on it|a framed map of the Hebrides|"
                   "a tiny bonsai maple|a knitted tea cosy shaped like a hen|a fossil ammonite|a jar of "
                   "heather honey from Skye|a signed Kate Bush record|a cast-iron waffle maker|a telescope lens kit|"
                   "a lava lamp from the seventies|a silk kimono|a book of pressed flowers|a mahjong set|"
                   "a hammock for the garden|a model of the Cutty Sark|a brass compass|an enamel bread bin|"
                   "a stained-glass suncatcher|a pair of binoculars for birds|a typewritten poem in a frame"),
    "fullname": _product("Agnes|Rupert|Imogen|Declan|Harriet|Tobias|Marguerite|Lennox|Perpetua|Ezra|Winifred|Casimir",
                         "Fairweather|Okonjo|Lindqvist|Abernathy|Castellano|Pemberton|Vasquez-Hale|Thistlewood|"
                         "Marchetti|Quayle"),
    "town": _product("Ash|Bram|Cress|Dun|Elder|Fen|Gorse|Hallow|Ivy|Kest|Lark|Marrow|Nether|Oak|Pen|Rook|Salt|"
                     "Thorn|Wren|Yarrow", "combe|wick|ford|haven|mere|field|holt|stow|ley|bridge|mouth|dale|hurst",
                     sep=""),
    "skill": _split("life drawing|salsa dancing|Italian for beginners|bouldering|sign language|stand-up comedy|"
                    "woodcarving|flamenco guitar|beekeeping|fencing|tap dancing|calligraphy|sea kayaking|"
                    "upholstery|glassblowing|archery|bookbinding|trapeze"),
    "allergen": _split("kiwi fruit|penicillin|hazelnuts|horse hair|sesame seeds|latex|mango skin|wasp stings|"
                       "shellfish|birch pollen|celery|ragweed"),
    "vehicle": _product("mustard yellow|dark green|sky blue|cherry red|pearl white|burnt orange|lilac|chrome",
                        "camper van|Vespa|tandem|Mini Cooper|Land Rover|cargo bike|sidecar motorbike|milk float"),
    "plant": _split("'Black Beauty' aubergines|white foxgloves|Charlotte potatoes|purple sprouting broccoli|"
                    "sweet peas|a fig tree|runner beans|rainbow chard|a lavender hedge|'Cafe au Lait' dahlias|"
                    "blackcurrant bushes|a climbing rose called Gertrude|globe artichokes|sunflowers from seed"),
    "band": _product("The Velvet|The Paper|The Hollow|The Electric|The Midnight|The Copper|The Silent|The Wild|"
                     "The Northern|The Gentle", "Anchors|Lanterns|Sparrows|Engines|Harbours|Comets|Tides|Violets"),
    "pet": _split("Pickles|Juniper|Waffles|Mochi|Ziggy|Bramble|Tofu|Clementine|Pistachio|"
                  "Marmalade|Sprocket|Gizmo|Truffle|Pretzel|Crumpet|Humbug|Fudge|Scooter|Button|Wellington|"
                  "Parsnip|Bertie|Pudding|Jellybean|Mr Whiskers|Custard|Rolo|Sherbet|Paddington|Kipper|"
                  "Squidge|Hobnob|Taffy|Domino|Pixel|Tinsel|Winston|Oreo|Bagel|Muffin|Teacake|"
                  "Dorito|Sausage|Pebbles|Snowdrop|Toffee|Bumble|Ginger Nut|Radish|Peanut|Conker|Wotsit|Chutney|"
                  "Bonbon|Marzipan|Ravioli|Fennel|Pumpernickel|Brisket|Cobnut|Treacle|Wafer|Kumquat|Shortcake|"
                  "Pancetta|Haggis|Bovril|Quaver|Liquorice|Scampi|Tapioca|Dandelion|Mr Bojangles|Lord Fluffington|"
                  "Captain Biscotti|Admiral Snuggles|Duchess|Bramwell|Pippin|Hercules|Bojack|Figgy|Rhubarb|Tiddles|"
                  "Moomin|Baloo|Sir Barksalot|Nacho|Cheddar|Pesto|Meatball|Dobby|Fozzie|Gonzo|Tumbleweed|Zeppelin|"
                  "Captain Flint|Periwinkle|Snickers|Wombat|Loki"),
    "kid": _split("Alfie|Maisie|Rufus|Tilly|Freddie|Poppy|Archie|Evie|Reggie|Martha|Stanley|Florence|Otis|"
                  "Matilda|Hugo|Phoebe|Jasper|Esme|Barnaby|Cressida|Ivo|Ottilie|Seamus|Beatrix|Wilf|Lottie"),
    "secret": _split("a spoon of miso|browned butter|a pinch of cardamom|a splash of fish sauce|grated frozen butter|"
                     "a shot of espresso|smoked salt|a bay leaf|a dash of vinegar|mashed banana|a square of "
                     "dark chocolate|a grating of nutmeg|a little mustard powder|condensed milk"),
    "how": _split("falling off a paddleboard|moving my nan's piano|chasing a runaway shopping trolley|doing yoga "
                  "with the cat on my back|carrying the Christmas tree upstairs|tripping over a garden gnome|"
                  "playing rounders at the work picnic|reaching for the top shelf in the loft|dancing at a "
                  "ceilidh|slipping on a wet leaf outside the post box|wrestling a deckchair|jumping on a "
                  "trampoline with my nephew|opening a jar of pickled onions|hoisting a kayak onto the car roof"),
    "prize": _split("the regional spelling bee|a rosette for her Victoria sponge|the under-twelves chess trophy|"
                    "second place in the sandcastle contest|a scholarship to the art college|the county "
                    "swimming medal|the school poetry cup|a golden Blue Peter badge|first prize for a giant "
                    "marrow|the debating shield|the junior quiz final|a bursary for the music school"),
    "film": _product("Murder|Midnight|Rain|Dancing|Sunset|Trouble", "at Halvard Bay|on the Night Ferry|at Kilbride "
                     "Station|on Pemberly Pier|at Castle Rue|in Little Dunmore"),
    "trail": _product("Hob's|Coldwater|Raven|Blackmoss|Sheepwash|Whinny|Gallow|Kettlewell|Long Crag|Harter",
                      "Edge|Gill|Tor|Beacon|Scar|Pike|Fell|Force"),
    "firm": _product("Pryce|Dobbs|Hartley|Mackay|Ellery|Blaine|Corrigan|Fitch|Garside|Orme|Tulley|Scrivens",
                     "& Sons|Brothers|Builders|and Daughter"),
    "street": _product("Larkspur|Cobble|Mulberry|Foundry|Chapel|Weaver's|Saddler|Ropewalk|Beacon|Tannery",
                       "Lane|Row|Close|Terrace|Mews"),
    "hall": _product("Foxley|Amberley|Whitmore|Hazelwood|Stanmore|Kingsclere|Ravensworth|Belmont|Lowther|Denholm",
                     "Hall|Barn|Manor|Abbey"),
    "paint": _split("Sage Whisper|Terracotta Sunset|Duck-Egg Dream|Deep Fjord|Butter Mint|Plum Velvet|Smoked "
                    "Oyster|Buttercup Meadow|Stormy Teal|Blush Clay|Lichen Grey|Marigold Glow|Inky Navy|Peach "
                    "Sorbet|Fern Gully|Chalk Rose|Saffron Dust|Arctic Fox|Copper Kettle|Olive Grove|Lavender Haze|"
                    "Oat Biscuit|Sea Glass|Pebble Shore"),
    "pub": _split("the Crooked Fiddle|the Drowned Man|the Three Ravens|the Jolly Tinker|the Blue Boar|the Plough and "
                  "Harrow|the Saracen's Head|the Weary Traveller|the Hatch and Hare|the Lamb and Flag|the Rusty "
                  "Anchor|the Fox and Feathers|the Green Dragon|the Old Bell|the Ship Inn|the Cat and Fiddle|the Rose "
                  "and Crown|the White Hart|the Nag's Head|the Black Swan|the Mermaid's Purse|the Leaping Salmon|"
                  "the Owl and Lantern|the Cobbler's Rest|the Quiet Woman|the Hop Pole|the Bishop's Mitre|"
                  "the Flying Horse|the Wheatsheaf|the Kings Arms"),
    "find": _split("a silver pocket watch engraved with an owl|a bundle of love letters tied with ribbon|a cracked "
                   "violin with no strings|a ship in a bottle|a tin of wartime ration books|a brass diving helmet|"
                   "a stuffed pike in a glass case|a doll with one glass eye|a wind-up toy monkey|a harp with three "
                   "strings|a hand-drawn treasure map|a jar of foreign coins|a cavalry sword|a box of magic lantern "
                   "slides|a green velvet top hat|a telescope with a cracked lens|a porcelain pig full of sixpences|"
                   "a banjo with a name carved in it|a taxidermy owl|a tin soldier army"),
    "hideout": _split("inside the old piano|under the loose stair|in a biscuit tin in the freezer|behind the boiler|"
                      "in the hollow oak by the lane|inside a hollowed-out dictionary|under the floorboard by the "
                      "bed|in the lining of her winter coat|beneath the compost heap|in a welly in the shed|"
                      "behind the bathroom mirror|in the spare tyre of the car|in a hatbox on top of the wardrobe|"
                      "under the kitchen sink|inside a hollow garden ornament|between the pages of a cookbook|in the "
                      "pocket of an old dressing gown|in the cistern of the upstairs toilet"),
}

"""Word lists of the procedural sentence generator, most common words first.

A preset with a vocabulary of size V takes a prefix of each list, so smaller presets use
the most ordinary words.
"""

DETERMINERS = "the a this that my your our their every some his her".split()

NOUNS = """
dog cat bird child teacher farmer doctor friend man woman boy girl king queen baker
student driver sailor artist cook nurse pilot singer writer judge horse cow fox wolf
bear mouse rabbit lion tiger duck goat sheep fish frog owl eagle snake monkey donkey
ball book box cup hat key letter map pen ring table chair door window house car boat
train bus bike tree flower river lake hill road bridge garden park city village farm
school shop market forest field mountain island beach castle tower kitchen room bed
lamp clock bottle basket bag coat shoe shirt apple bread cake cheese egg milk soup
tea coffee rice orange lemon plate spoon knife fork glass bowl candle picture song
story game gift message stone rope wheel engine machine computer phone radio camera
guitar piano drum violin ticket coin card stamp brush paint paper pencil blanket
pillow mirror ladder bucket hammer nail fence wall roof floor gate path street corner
tunnel station harbor library museum theater hospital office factory bank church
palace temple cave valley desert ocean storm cloud star moon sun planet rocket
""".split()

VERBS = """
sees likes finds takes holds wants needs helps calls follows watches carries opens
closes builds paints cleans fixes moves pushes pulls throws catches brings sends
reads writes draws visits meets loves hates chases feeds washes sells buys keeps
leaves owns drops lifts kicks hits breaks cuts cooks bakes eats drinks hears knows
remembers forgets shows hides covers fills empties counts checks chooses answers
asks teaches trains guides greets thanks admires describes notices touches tastes
smells hugs shakes turns wraps fetches collects gathers plants waters picks packs
borrows lends returns repairs protects saves rescues warns wakes
""".split()

ADJECTIVES = """
big small old young red blue green happy sad quick slow tall short long warm cold
bright dark loud quiet clean dirty new brave kind wise funny strange heavy light
soft hard sweet sour rich poor busy lazy calm wild gentle proud shy clever tired
hungry angry lucky famous simple empty full round square sharp smooth rough wet dry
fresh early late fast strong weak pretty ugly huge tiny golden silver wooden yellow
purple white black brown pink gray friendly careful honest polite noisy sleepy
curious cheerful modest humble eager fierce graceful jolly lively nervous patient
""".split()

PREPOSITIONS = "in near on under behind beside above below with without across through".split()

ADVERBS = """
often always never quickly slowly gladly rarely quietly suddenly carefully happily
sadly softly proudly calmly bravely kindly gently loudly eagerly
""".split()

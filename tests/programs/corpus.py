"""A small English text (original, about 4 KB) that the language-model programs train on."""

TEXT = """\
the lighthouse keeper woke before the gulls and climbed the stairs to the lamp.
the sea was grey and flat, and the boats of the village were still tied to the pier.
he cleaned the glass, trimmed the wick and wrote the weather in his book.
wind from the west, light rain, a long swell from the south.
his daughter brought him bread and tea, and they watched the fog lift from the bay.
when the fog was gone the fishermen came down to the water with their nets.
the oldest of them, a man called tom, waved to the tower and the keeper waved back.
in the afternoon the wind turned and the clouds gathered over the hills.
the keeper lit the lamp early, because a storm was coming from the north.
the light turned slowly and swept across the waves, white and then dark, white and then dark.
one boat was late. the keeper watched the harbour mouth and counted the lights.
the daughter said the late boat belonged to tom, and that tom knew the rocks well.
the rain came hard against the windows and the tower hummed in the wind.
at last a small light rose and fell beyond the rocks, and then it turned toward the harbour.
the keeper rang the bell so that tom would hear it through the storm.
the boat came in slowly, close to the light, and tied up at the end of the pier.
in the morning the sea was calm again and the gulls were loud over the nets.
tom came up the hill with a basket of fish and left it at the door of the tower.
the keeper wrote in his book: storm in the night, all boats home, wind now from the east.

a girl in the market sold apples from a wooden cart.
every morning she polished the red apples and set the green ones in a row beside them.
a baker on the corner sold bread, and the smell of it filled the square.
the baker and the girl traded bread for apples and talked about the weather.
one day a traveller came to the square with a cart of books and a tired horse.
he asked the girl for water for the horse, and she gave him a bucket and an apple.
the traveller opened his cart and showed her maps of far cities and old sea charts.
she asked him how far the sea was from the square, and he said three days on foot.
the baker laughed and said that nobody in the town had ever walked so far.
the traveller stayed for a week and read stories to the children in the evening.
when he left, he gave the girl a small book of maps and a drawing of the lighthouse.
she kept the book under the apples in her cart and read it when the square was quiet.
years later she walked the three days to the sea and saw the light turning in the dark.

the river begins as rain on the hills, and the rain runs down into small streams.
the streams join in the valley, and the water grows wide and slow as it nears the town.
a mill stands on the river, and its wheel turns all day, grinding grain into flour.
the miller sells the flour to the baker, and the baker sells the bread in the square.
in spring the river rises and the fields beside it turn green and soft.
in summer it runs low and clear, and the children swim in the pools below the mill.
in autumn the leaves fall into the water and float past the town toward the sea.
in winter the edges freeze, and the wheel of the mill is still until the thaw.
the river does not stop at the town. it keeps going, past farms and woods, to the coast.
there it meets the sea near the rocks, below the tower where the keeper lights the lamp.

a cat lived in the mill and kept the mice away from the grain.
the cat slept in the sun by the door and watched the wheel turn.
the miller gave the cat milk in the morning and a piece of fish in the evening.
one night the cat heard a noise in the loft and climbed the ladder to see.
it was not a mouse but a small owl that had flown in through a broken window.
the owl and the cat looked at each other for a long time without moving.
then the owl flew out into the night, and the cat went back to sleep by the warm stove.
the next day the miller fixed the window, and the cat sat on the sill and watched the sky.
"""

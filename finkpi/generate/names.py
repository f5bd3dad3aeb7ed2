"""Word lists for company, product and person names (plain ASCII, so name matching is predictable)."""

from __future__ import annotations

# Company name = "<stem> <business word>[ <city>] <legal form>". The stems and words are chosen so
# that no two (stem, word) pairs concatenate to the same letters, which keeps normalized names unique.
STEMS = [
    "Albrecht", "Amberg", "Arnold", "Auer", "Bachmann", "Bauer", "Baumann", "Beck", "Berger", "Binder",
    "Blum", "Bohr", "Brandt", "Breuer", "Brunner", "Dietrich", "Dorn", "Eckert", "Ebner", "Engel",
    "Falk", "Fiedler", "Fink", "Fischer", "Franke", "Frei", "Fuchs", "Gabler", "Geiger", "Graf",
    "Gruber", "Haas", "Hahn", "Hartmann", "Heller", "Herrmann", "Hofer", "Horn", "Huber", "Jansen",
    "Jung", "Kaiser", "Keller", "Kern", "Klein", "Koch", "Kraft", "Krause", "Kuhn", "Lang",
    "Lehmann", "Lenz", "Lorenz", "Ludwig", "Maier", "Marquardt", "Merz", "Moser", "Nagel", "Neumann",
    "Oswald", "Otto", "Pfeiffer", "Pohl", "Rausch", "Reiter", "Renner", "Richter", "Ritter", "Roth",
    "Sauer", "Seidel", "Sommer", "Stark", "Stein", "Strauss", "Thaler", "Ulrich", "Vogel", "Voss",
    "Wagner", "Walter", "Weber", "Wendt", "Werner", "Winkler", "Wolf", "Zeller", "Ziegler", "Zimmer",
    "Atlas", "Borealis", "Cascade", "Delta", "Everest", "Granite", "Harbor", "Horizon", "Keystone",
    "Lakeside", "Meridian", "Northstar", "Orion", "Pinnacle", "Quarry", "Redwood", "Summit",
    "Tidewater", "Vanguard", "Westbrook", "Yangtze", "Pearl River", "Golden Bay", "Jade",
    "Kestrel", "Osprey", "Silverline", "Bluewater", "Ironbridge", "Clearwell", "Stonegate",
]
WORDS = [
    "Pumpentechnik", "Hydraulik", "Anlagenbau", "Wassertechnik", "Maschinenbau", "Industrietechnik",
    "Versorgungstechnik", "Haustechnik", "Energietechnik", "Umwelttechnik", "Armaturen",
    "Antriebstechnik", "Stadtwerke", "Verfahrenstechnik", "Metallbau", "Kraftwerkstechnik",
    "Process Systems", "Flow Solutions", "Engineering", "Industrial Supply", "Fluid Control",
    "Water Services", "Utilities", "Chemicals", "Foods", "Building Services", "Automation",
    "Mechanical", "Irrigation", "Mining Equipment", "Marine", "Power Systems", "Facility Services",
    "Plant Services", "Contracting", "Environmental", "HVAC", "Thermal Systems", "Refining",
    "Paper Mills", "Breweries", "Pharma Works", "Agritech", "Desalination", "Fire Protection",
    "Cooling Towers", "Steelworks", "Textiles", "Logistics Parks", "Municipal Water",
]
CITIES = [
    "Aachen", "Augsburg", "Basel", "Bergen", "Bilbao", "Bochum", "Bologna", "Bordeaux", "Bremen",
    "Brno", "Calgary", "Chicago", "Dallas", "Denver", "Dortmund", "Dresden", "Dublin", "Essen",
    "Genoa", "Ghent", "Graz", "Hamburg", "Hannover", "Houston", "Innsbruck", "Kassel", "Kiel",
    "Leeds", "Leipzig", "Lille", "Linz", "Lyon", "Malmo", "Mannheim", "Milan", "Montreal", "Munich",
    "Nantes", "Ningbo", "Nuremberg", "Odense", "Oslo", "Osaka", "Oulu", "Perth", "Porto",
    "Rotterdam", "Salzburg", "Seattle", "Seville", "Shenzhen", "Stuttgart", "Suzhou", "Tampere",
    "Toronto", "Toulouse", "Turin", "Ulm", "Utrecht", "Valencia", "Vienna", "Wuppertal", "Zurich",
    "Aarhus", "Antwerp", "Atlanta", "Boston", "Brisbane", "Busan", "Cork", "Detroit", "Espoo",
    "Gdansk", "Geneva", "Gothenburg", "Kobe", "Lisbon", "Lucerne", "Melbourne", "Phoenix",
]
FIRST_NAMES = [
    "Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Laura", "Paul", "Julia", "Leon",
    "Clara", "Max", "Emma", "Noah", "Hannah", "Elias", "Lea", "Finn", "Mia", "Ben",
    "Claire", "Louis", "Camille", "Hugo", "Giulia", "Marco", "Lucia", "Pablo", "Sara", "Daan",
    "Emil", "Freja", "Oskar", "Ingrid", "Mikko", "Aino", "Henrik", "Astrid", "James", "Emily",
    "Michael", "Olivia", "David", "Sarah", "Daniel", "Jessica", "Ryan", "Megan", "Wei", "Li",
    "Hiroshi", "Yuki", "Mei", "Jun", "Chloe", "Ethan", "Grace", "Liam", "Zoe", "Oliver",
]
LAST_NAMES = [
    "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schroeder", "Neumann", "Schwarz", "Braun",
    "Zimmermann", "Krueger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause",
    "Martin", "Bernard", "Dubois", "Moreau", "Rossi", "Russo", "Garcia", "Martinez", "de Jong",
    "Jansen", "Andersson", "Johansson", "Nielsen", "Hansen", "Virtanen", "Korhonen", "Smith",
    "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark",
    "Wang", "Zhang", "Liu", "Chen", "Tanaka", "Suzuki", "Sato", "Tan", "Lim", "O'Brien",
    "Nguyen", "Kowalski", "Novak", "Horvath", "Berg", "Lund", "Dahl", "Costa",
]
TITLES = [
    "Purchasing Manager", "Head of Procurement", "Plant Manager", "Maintenance Engineer",
    "Technical Director", "Project Engineer", "Buyer", "Operations Manager", "CFO",
    "Facility Manager", "Managing Director", "Accounts Payable Clerk",
]
INDUSTRIES = [
    "Water Utilities", "Chemicals", "Food & Beverage", "Oil & Gas", "Building Services", "Mining",
    "Machinery", "Pharmaceuticals", "Agriculture", "Energy",
]

# Suppliers: fixed names so the docs can name the main CNY supplier.
MAIN_CNY_SUPPLIER_NAME = "Ningbo Haida Precision Castings Co., Ltd."
SUPPLIER_STEMS = [
    "Rheinstahl", "Alpen Guss", "Nordmetall", "Saar Profil", "Euro Seals", "Dichtungswerk Hessen",
    "Elektronik Bayern", "Tyrol Electronics", "Milano Fusioni", "Lyon Joints", "Delft Components",
    "Iberia Metales", "Flanders Castings", "Suomi Metals", "Ruhr Wire", "Schwaben Elektronik",
    "Lombardia Valvole", "Bohemia Cast", "Westfalen Draht", "Danube Polymers", "Baltic Rubber",
    "Alsace Electronique", "Harz Giesserei", "Pfalz Dichtungen", "Eifel Stahlhandel", "Lausitz Guss",
]
US_SUPPLIER_STEMS = ["Great Lakes Steel", "Ohio Valley Castings", "Pacific Circuit", "Keystone Seal",
                     "Carolina Electronics"]
CN_SUPPLIER_STEMS = ["Suzhou Dingli Electronics", "Tianjin Steel Trading", "Wuxi Seal Technology",
                     "Shenzhen Kaifa Circuits", "Dongguan Yihe Rubber", "Qingdao Foundry",
                     "Hangzhou Motor Parts", "Xiamen Ruitai Electronics"]

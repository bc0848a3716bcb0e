package mailgen

// Word lists for the generator. They are original, made up for this
// package.

type person struct {
	name, addr string
}

var people = []person{
	{"Alice Smith", "alice@example.com"},
	{"Bob Jones", "bob.jones@example.org"},
	{"Carol Nguyen", "carol@mail.example.net"},
	{"Dave O'Brien", "dob@example.ie"},
	{"Erin Walker", "erin.walker@example.com"},
	{"Frank Castle", "frank@corp.example.com"},
	{"Grace Hopper-Lee", "grace@example.edu"},
	{"Heidi Park", "hpark@example.kr"},
	{"Ivan Horvat", "ivan@example.hr"},
	{"Judy Chen", "judy.chen@example.com"},
	{"Mallory Stone", "mallory@example.net"},
	{"Niaj Patel", "niaj@example.in"},
	{"Olivia Brown", "olivia@example.co.uk"},
	{"Peggy Wu", "peggy@example.sg"},
	{"Rupert Hale", "rhale@example.org"},
	{"Sybil Grant", "sybil@example.com"},
	{"Trent Miller", "trent@corp.example.com"},
	{"Victor Alvarez", "valvarez@example.mx"},
	{"Walter White", "walt@example.com"},
	{"", "noreply@build.example.com"},
	{"Jürgen Müller", "juergen.mueller@example.de"},
	{"Käthe Groß", "kaethe@example.de"},
	{"Søren Kierkegård", "soren@example.dk"},
	{"Françoise Dupré", "francoise@example.fr"},
	{"José Núñez", "jose.nunez@example.es"},
	{"Zoë Ångström", "zoe@example.se"},
	{"山田 太郎", "taro.yamada@example.jp"},
	{"佐藤 花子", "hanako@example.jp"},
	{"李 伟", "li.wei@example.cn"},
	{"Иван Петров", "ivan.petrov@example.ru"},
	{"Γιώργος Παπαδόπουλος", "giorgos@example.gr"},
	{"Sam 🚀 Lee", "sam@example.io"},
	{"Łukasz Żółć", "lukasz@example.pl"},
	{"Ahmet Yılmaz", "ahmet@example.com.tr"},
}

type list struct {
	name, addr, id string
}

var lists = []list{
	{"Developers", "dev@lists.example.org", "dev.lists.example.org"},
	{"Announcements", "announce@lists.example.org", "announce.lists.example.org"},
	{"Users Deutschland", "users-de@lists.example.de", "users-de.lists.example.de"},
	{"ユーザー会", "users-jp@lists.example.jp", "users-jp.lists.example.jp"},
	{"Ops On-Call", "oncall@groups.example.com", "oncall.groups.example.com"},
}

var subjects = []string{
	"Build failing on main since last night",
	"Proposal: move the weekly sync to Thursdays",
	"Quarterly report draft attached",
	"Question about the migration timeline",
	"Disk usage alert on db-03",
	"Lunch on Friday?",
	"Release notes for 2.4",
	"Minutes of the planning meeting",
	"Access request for the staging cluster",
	"Reminder: submit your expenses",
	"Invoice #10234",
	"Travel plans for the conference",
	"New hire onboarding checklist",
	"Outage postmortem",
	"Größenänderung der Partition schlägt fehl",
	"Übersicht der Änderungen für März",
	"会議の議事録について",
	"サーバー移行のお知らせ",
	"Café meeting tomorrow ☕",
	"🎉 Release 3.0 is out!",
	"Проблема с сервером почты",
	"Réunion de lundi — ordre du jour",
	"Año nuevo, presupuesto nuevo",
	"Ερώτηση για την άδεια",
	"数据迁移进度",
	"Zażółć gęślą jaźń — test kodowania",
}

var sentences = []string{
	"I had a look at the logs this morning and the errors started around midnight.",
	"Can we schedule fifteen minutes to go through the open items?",
	"The attached file has the numbers from the last quarter.",
	"Thanks for the quick turnaround on this.",
	"Let me know if anything is unclear or missing.",
	"I think the second option is the safer one, but it will take longer.",
	"We rolled the change back and the service recovered within five minutes.",
	"Please review the draft before Thursday so we can send it out.",
	"The new laptops should arrive by the end of next week.",
	"I am out of office until Monday with limited access to email.",
	"Could you forward this to the rest of the team?",
	"The vendor confirmed the renewal price stays the same this year.",
	"As discussed, here is the summary of what we agreed on.",
	"The build is green again after the dependency update.",
	"I added a few comments inline; nothing blocking.",
	"We need a decision on the budget by the fifteenth.",
	"Die Änderungen sind jetzt im Hauptzweig, bitte kurz prüfen.",
	"Vielen Dank für die schnelle Rückmeldung!",
	"明日の会議は十時からに変更になりました。",
	"資料を添付しましたのでご確認ください。",
	"Merci pour votre retour rapide, c'est noté.",
	"Спасибо, посмотрю завтра утром.",
	"Gracias, lo revisamos en la reunión del martes.",
	"Looks good to me 👍",
}

// fromLines are body lines that begin with "From " as real mail does; an
// mbox writer must escape them.
var fromLines = []string{
	"From what I can tell, the fix works on all three machines.",
	"From the desk of the program committee:",
	"From now on, please use the new ticket queue.",
	"From 9:00 to 11:00 the office network will be down.",
	"From my side there is nothing else to add.",
}

var mailers = []string{
	"Mozilla Thunderbird 115.3",
	"Apple Mail (2.3731)",
	"Microsoft Outlook 16.0",
	"Mutt/2.2.12",
	"Evolution 3.48",
	"Roundcube Webmail/1.6",
}

var zones = []struct {
	offset int // seconds east of UTC
	name   string
}{
	{0, "GMT"}, {0, "UTC"}, {-5 * 3600, "EST"}, {-8 * 3600, "PST"}, {-7 * 3600, "PDT"},
	{3600, "CET"}, {7200, "CEST"}, {9 * 3600, "JST"}, {5*3600 + 1800, "IST"}, {8 * 3600, "CST"},
}

var attachmentTypes = []struct {
	ctype, name string
}{
	{"application/pdf", "report.pdf"},
	{"image/png", "screenshot.png"},
	{"text/csv", "numbers.csv"},
	{"application/zip", "logs.zip"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Übersicht März.xlsx"},
	{"image/jpeg", "写真.jpg"},
}

"""Sentence templates for the evaluation corpus: how a planted value or a decoy appears in prose,
in a subject line and in a table row, with natural context words or without.

`{v}` is the value; other fields ({name}, {company}, {city}, {exp}, {port}) are filled from Faker
and never hold anything that looks like an identifier.
"""

# type -> (templates with context words, templates without)
ITEM_PROSE = {
    "CREDIT_CARD": (
        ["Please charge my card number {v}, expiry {exp}.", "Credit card: {v} (exp {exp})",
         "Kindly use the corporate Visa {v} for the booking.", "My Mastercard is {v}, same billing address.",
         "CC# {v}", "The payment card {v} was declined yesterday.", "Card no. {v} - CVV by phone only."],
        ["Use {v} for the deposit, {name}.", "Here you go: {v}", "As discussed, {v}.",
         "{name} said to put it on {v}.", "{v}, valid thru {exp}"],
    ),
    "US_SSN": (
        ["My SSN is {v}.", "Social Security Number: {v}", "Employee SSN {v} for the background check.",
         "Please verify the social security no. {v} for {name}.", "SSN: {v}"],
        ["Here is the number you asked for: {v}.", "{name}, {v}, {city}", "For the file: {v}"],
    ),
    "IBAN": (
        ["IBAN: {v}", "Please transfer the balance to IBAN {v}.", "Our bank account (IBAN) is {v}.",
         "Beneficiary IBAN {v}, {company}.", "Update the supplier's IBAN to {v} before Friday."],
        ["Beneficiary {company}, {v}.", "Pay to {v} by Friday.", "{company} - {v}"],
    ),
    "SWIFT_BIC": (
        ["SWIFT code: {v}", "BIC {v}", "SWIFT/BIC of the receiving bank is {v}.", "Use BIC code {v} for the wire."],
        ["Bank: {company}, {v}.", "via {v}, {city}"],
    ),
    "US_BANK_ROUTING": (
        ["Routing number: {v}", "ABA routing {v}, checking account.", "The bank routing number is {v}.",
         "Wire to routing # {v} at {company} Bank.", "ABA {v}"],
        ["Direct deposit: {company} Bank, {v}.", "Bank {v} / {city} branch", "{company} Credit Union {v}"],
    ),
    "UK_NINO": (
        ["National Insurance number: {v}", "NI number {v}", "My NINO is {v}.",
         "Please add the National Insurance no. {v} to the payroll record.", "NI No: {v}"],
        ["{name}, {v}, {city}", "Starter form for {name}: {v}", "Reference for the new hire: {v}"],
    ),
    "CA_SIN": (
        ["SIN: {v}", "Social Insurance Number {v}", "My SIN is {v}.", "Numéro d'assurance sociale (NAS) : {v}",
         "Employee SIN {v} for the T4.", "S.I.N. {v}", "NAS : {v}", "Numéro d’assurance sociale : {v}",
         "Please put {v} on her T4 slip."],
        ["Number on file: {v}", "{name} - {v}", "New hire {name}: {v}."],
    ),
    "EMAIL_ADDRESS": (
        ["Email me at {v}.", "Contact: {v}", "Her e-mail address is {v}.", "Send the signed copy to {v}."],
        ["{name} <{v}> will take it from here.", "{v} is the right person.", "Looping in {v}."],
    ),
    "PHONE_NUMBER": (
        ["Call me on {v}.", "Phone: {v}", "Tel. {v}", "My mobile is {v}.", "You can reach {name} at {v}."],
        ["{name} {v}", "{v} (after 5pm)", "{company}, {v}"],
    ),
    "IP_ADDRESS": (
        ["The server IP is {v}.", "Login from IP address {v} was blocked.", "Whitelist IP {v} on the firewall.",
         "host {v} (IP) is down"],
        ["Connect to {v} on port {port}.", "{v} - - \"GET /index.html HTTP/1.1\" 200", "Traffic from {v} spiked."],
    ),
    "AWS_ACCESS_KEY": (
        ["aws_access_key_id = {v}", "AWS access key: {v}", "AccessKeyId: {v}", "The AWS key {v} was leaked."],
        ["Use {v} for the upload job.", "{v}", "Rotate {v} please."],
    ),
    "AWS_SECRET_KEY": (
        ["aws_secret_access_key = {v}", "AWS secret key: {v}", "SecretAccessKey: {v}"],
        ["aws_secret_access_key = {v}", "AWS secret key: {v}"],
    ),
    "GITHUB_TOKEN": (
        ["GitHub token: {v}", "GITHUB_TOKEN={v}", "Personal access token for GitHub: {v}"],
        ["Use {v} in CI.", "{v}"],
    ),
    "SLACK_TOKEN": (
        ["Slack bot token {v}", "SLACK_TOKEN={v}", "The Slack token is {v}."],
        ["{v}", "Set it to {v} and restart."],
    ),
    "JWT": (
        ["Authorization: Bearer {v}", "JWT: {v}", "Here is the access token {v}"],
        ["{v}", "Try this one: {v}"],
    ),
    "PRIVATE_KEY": (
        ["Here is the deploy private key, please keep it safe:\n{v}", "SSH key for the build box:\n{v}"],
        ["As requested:\n{v}", "{v}"],
    ),
}

ITEM_SUBJECT = {
    "CREDIT_CARD": ["Card {v}", "Payment card {v}"], "US_SSN": ["SSN {v}", "SSN check {v}"],
    "IBAN": ["IBAN {v}", "New bank details IBAN {v}"], "SWIFT_BIC": ["BIC {v}", "SWIFT {v}"],
    "US_BANK_ROUTING": ["Routing number {v}", "ABA {v}"], "UK_NINO": ["NI number {v}", "NINO {v}"],
    "CA_SIN": ["SIN {v}", "Social Insurance Number {v}"], "EMAIL_ADDRESS": ["Contact {v}", "Email {v}"],
    "PHONE_NUMBER": ["Call {v}", "Phone {v}"], "IP_ADDRESS": ["IP {v} blocked", "Server IP {v}"],
    "AWS_ACCESS_KEY": ["AWS key {v}", "Access key {v}"], "GITHUB_TOKEN": ["GitHub token {v}"],
    "SLACK_TOKEN": ["Slack token {v}"],
}
SUBJECT_NO_CONTEXT = ["Re: {v}", "Fwd: {v}", "{v}", "Update {v}", "{v} - as discussed"]

# Context in the other half of the message: a value alone in the subject with the body naming it,
# or alone in the body under a subject naming it (what the held-out corpus of issue 10 showed
# for routing numbers and SINs). type -> (body sentences naming a value in the subject, subject
# phrases naming a value in the body); `BARE_PROSE` writes the value in the body without a word.
CONTEXT_ELSEWHERE = {
    "US_BANK_ROUTING": (
        ["The routing number for the direct deposit is in the subject line.",
         "Please update the vendor's bank record with the ABA number above.",
         "That is the routing number of our new bank, checking account to follow by phone."],
        ["Routing number for payroll", "New ABA routing", "Direct deposit change", "Wire routing details"],
    ),
    "CA_SIN": (
        ["Her social insurance number is in the subject, for the T4.",
         "Voici mon numéro d'assurance sociale (NAS), comme demandé.",
         "The SIN above is for the new hire's payroll file."],
        ["SIN for the new hire", "NAS - dossier employé", "Social insurance number update"],
    ),
}
BARE_PROSE = ["Here it is: {v}.", "As discussed: {v}", "{name} - {v}", "For {name}: {v}, thanks."]

# type -> table field name with context
ITEM_FIELD = {
    "CREDIT_CARD": ["Card number", "credit_card", "CC"], "US_SSN": ["SSN", "ssn", "Social Security Number"],
    "IBAN": ["IBAN", "iban"], "SWIFT_BIC": ["BIC", "SWIFT"], "US_BANK_ROUTING": ["Routing number", "aba_routing"],
    "UK_NINO": ["NI number", "nino", "National Insurance"], "CA_SIN": ["SIN", "sin"],
    "EMAIL_ADDRESS": ["Email", "email"], "PHONE_NUMBER": ["Phone", "phone", "Mobile"],
    "IP_ADDRESS": ["IP address", "ip"], "AWS_ACCESS_KEY": ["aws_access_key_id"],
    "AWS_SECRET_KEY": ["aws_secret_access_key"], "GITHUB_TOKEN": ["github_token"], "SLACK_TOKEN": ["slack_token"],
    "JWT": ["jwt", "bearer_token"],
}
# Field names that say nothing about the value ("Reference" would: a phone-shaped reference number
# is a reference number, and Sluice's phone rule rightly excludes it).
NEUTRAL_FIELDS = ["Item", "Info", "Detail", "Value", "Notes"]
# Decoys that only their words tell apart keep a word of theirs in a table too: a dotted quad
# under "Notes" is an IP address to any reader.
DECOY_FIELD_PLAIN = {"version_ipv4_like": "Build"}

# decoy kind -> (hard templates with the context words of the type it imitates, plain templates)
DECOY_PROSE = {
    "luhn_fail_card": (["Card number {v} was rejected by the bank.", "credit card {v}"],
                       ["Ticket {v} is closed.", "Batch {v} processed."]),
    "order_number": (["Order number {v} has shipped.", "PO {v} approved."],
                     ["Invoice {v} is attached.", "Re your order {v}."]),
    "date": (["Date of birth: {v}", "Expiry date {v}"], ["Meeting moved to {v}.", "Received {v}."]),
    "time": (["Call at {v}.", "Phone slot {v}"], ["We start at {v}.", "Deadline {v} sharp."]),
    "version": (["Upgrade to version {v} tonight.", "Running build {v}"], ["Fixed in {v}.", "Release {v} is out."]),
    "version_ipv4_like": (["Firmware version {v} is installed.", "Upgrade the agent to version {v}."],
                          ["Build {v} passed all tests.", "The changelog for v{v} is attached."]),
    "isbn": (["ISBN {v}", "Book ISBN: {v}"], ["Reading list: {v}.", "See ISBN {v}"]),
    "ups_tracking": (["UPS tracking number {v}", "Tracking: {v}"], ["Shipment {v} delayed.", "Parcel {v}"]),
    "uuid": (["Request id {v}", "Correlation ID: {v}"], ["Session {v}", "{v}"]),
    "hex_hash": (["SHA checksum: {v}", "File hash {v}"], ["Digest {v}", "Fingerprint {v}"]),
    "git_commit": (["Fixed in commit {v}.", "Please cherry-pick {v}."], ["Reverted {v}.", "Merged {v}"]),
    "amount": (["Total amount: {v}", "Balance due {v}"], ["That comes to {v}.", "Approved {v}."]),
    "ssn_invalid": (["SSN {v}", "Social Security Number: {v}"], ["Placeholder {v}", "Sample {v}"]),
    "iban_bad_check": (["IBAN: {v}", "Transfer to IBAN {v}"], ["Account {v}", "Beneficiary {v}"]),
    "aba_fail": (["Routing number {v}", "ABA {v}"], ["Reference {v}", "Case {v}"]),
    "nino_invalid": (["NI number {v}", "National Insurance: {v}"], ["Code {v}", "Ref {v}"]),
    "sin_invalid": (["SIN {v}", "Social Insurance Number: {v}"], ["Member {v}", "Claim {v}"]),
    "phone_extension": (["Call me on {v}.", "Phone: {v}"], ["Desk {v}", "Reception {v}"]),
    "ip_invalid": (["IP address {v}", "Server IP {v}"], ["Value {v}", "Range {v}"]),
    "base64_blob": (["Encrypted payload: {v}", "Token blob {v}"], ["Attachment data {v}", "{v}"]),
    "bic_shaped_word": (["{v}: please read the attached note.", "This is {v} for the bank."],
                        ["{v} - action needed", "The {v} team agreed."]),
    "account_number": (["Account number {v}", "Checking account {v}"], ["Customer {v}", "Member number {v}"]),
    # Nine digits that pass the SSN rules, labelled as another id, beside identity words.
    "customer_id_ssn_words": (
        ["Customer ID {v} - please confirm your identity with the last four digits of your SSN.",
         "Your customer number is {v}. We will never ask for your Social Security number by email.",
         "Member ID {v}; identity verified against the SSN on file.",
         "Account ID {v} - SSN and date of birth confirmed by phone."],
        ["Customer ID {v}", "Member ID: {v}", "Order {v} is confirmed."]),
    "public_key_pem": (["Here is our public key:\n{v}", "The server certificate:\n{v}"], ["{v}"]),
}
DECOY_FIELD = {
    "luhn_fail_card": "Card number", "order_number": "Order", "date": "Date", "time": "Time", "version": "Version",
    "version_ipv4_like": "Firmware version", "isbn": "ISBN", "ups_tracking": "Tracking", "uuid": "Request id",
    "hex_hash": "SHA-256", "git_commit": "Commit", "amount": "Amount", "ssn_invalid": "SSN", "iban_bad_check": "IBAN",
    "aba_fail": "Routing number", "nino_invalid": "NI number", "sin_invalid": "SIN", "phone_extension": "Phone",
    "ip_invalid": "IP", "base64_blob": "Blob", "bic_shaped_word": "Status", "account_number": "Account",
    "public_key_pem": "Public key", "customer_id_ssn_words": "Customer ID",
}
DECOY_SUBJECT = ["Order {v}", "Re: invoice {v}", "{v} update", "Ticket {v}"]
DECOY_SUBJECT_VERSION = ["Version {v} released", "Upgrade to version {v}", "Firmware {v} update"]

GREETINGS = ["Hi {first},", "Hello {first},", "Dear {name},", "{first},", "Good morning {first},"]
CLOSINGS = ["Best regards,\n{name}\n{company}", "Thanks,\n{first}", "Kind regards,\n{name}",
            "Cheers,\n{first}", "Mit freundlichen Grüßen\n{name}", "Cordialement,\n{name}"]
TOPICS = ["Quarterly report", "Onboarding documents", "Payment details", "Meeting notes", "Invoice query",
          "Project update", "Contract renewal", "Expense claim", "Access request", "Customer record",
          "Payroll changes", "Vendor setup", "Incident follow-up", "Travel booking", "Server migration"]

# Error messages sent to clients. Ids are Discord's field error codes (UPPER_CASE) or our own
# keys for top-level errors (kebab-case). Keep locales/*/errors.ftl in step (a test checks it).

## Top-level errors
unauthorized = 401: Unauthorized
not-found = 404: Not Found
method-not-allowed = 405: Method Not Allowed
internal-error = 500: Internal Server Error
missing-access = Missing Access
missing-permissions = Missing Permissions
invalid-form-body = Invalid Form Body
invalid-json = The request body contains invalid JSON.
payload-too-large = Request entity too large
rate-limited = You are being rate limited.
request-timeout = 408: Request Timeout
service-unavailable = 503: Service Unavailable
unknown-account = Unknown Account
unknown-application = Unknown Application
unknown-channel = Unknown Channel
unknown-guild = Unknown Guild
unknown-invite = Unknown Invite
unknown-integration = Unknown Integration
unknown-member = Unknown Member
unknown-message = Unknown Message
unknown-overwrite = Unknown Permission Overwrite
unknown-role = Unknown Role
unknown-token = Unknown Token
unknown-user = Unknown User
unknown-emoji = Unknown Emoji
unknown-webhook = Unknown Webhook
unknown-ban = Unknown Ban
unknown-sticker = Unknown Sticker
unknown-sticker-pack = Unknown Sticker Pack
unknown-guild-scheduled-event = Unknown Guild Scheduled Event
unknown-guild-template = Unknown Guild Template
unknown-interaction = Unknown interaction
unknown-application-command = Unknown application command
unknown-team = Unknown Team
unknown-auto-moderation-rule = Unknown Auto Moderation Rule
max-application-commands = Maximum number of application commands reached
interaction-already-acknowledged = Interaction has already been acknowledged.
invalid-webhook-token = Invalid Webhook Token
empty-message = Cannot send an empty message
max-guilds = Maximum number of guilds reached ({ $max })
max-guilds-reached = Maximum number of guilds reached
bulk-ban-failed = Failed to ban users
invites-paused = Invites are currently paused for this server
guild-template-exists = Guild already has a template
max-roles-reached = Maximum number of guild roles reached
max-channels-reached = Maximum number of guild channels reached
max-webhooks-reached = Maximum number of webhooks reached
max-pins-reached = Maximum number of pins reached for the channel
poll-expired = Poll expired
poll-not-a-poll = Cannot expire a non-poll message
poll-unknown-answer = Unknown poll answer
registration-disabled = Registration is disabled on this instance.
invite-required = An invite is required to register on this instance.
banned-from-guild = You are banned from this guild.
cannot-execute-on-dm = Cannot execute action on a DM channel
cannot-edit-other-user-message = Cannot edit a message authored by another user
cannot-message-user = Cannot send messages to this user
invalid-recipients = Invalid Recipient(s)
owner-cannot-leave = Invalid Guild: the owner cannot leave, transfer or delete the guild instead
not-a-bot = Only bots can use this endpoint
bot-only-endpoint = Only bots can use this endpoint
too-many-messages-to-delete = You can only bulk delete between 2 and 100 messages
admin-required = Only instance administrators can do this.
admin-cannot-disable-self = You cannot disable your own account.
account-disabled = This account is disabled.
role-hierarchy = You cannot manage a role at or above your highest role.
cannot-send-in-non-text = Cannot send messages in a non-text channel
slowmode-rate-limited = This action cannot be performed due to slowmode rate limit.
widget-disabled = Widget Disabled
invalid-vanity-code = Invite code was either invalid or taken.
max-emojis-reached = Maximum number of emojis reached
max-stickers-reached = Maximum number of stickers reached
max-scheduled-events-reached = Maximum number of guild scheduled events reached
scheduled-event-finished = Cannot modify a finished event
automod-message-blocked = Message was blocked by automatic moderation
invalid-sticker-sent = Invalid sticker sent
invalid-asset = Invalid Asset
asset-too-large = Failed to resize asset below the maximum size
max-recipients-reached = Maximum number of recipients reached (10)
invalid-channel-type = Cannot execute action on this channel type
already-crossposted = This message has already been crossposted
cannot-execute-on-system-message = Cannot execute action on a system message

# Relationships
cannot-act-on-self = You cannot perform this action on yourself
cannot-friend-self = Cannot send friend request to self
bots-cannot-have-friends = Bots cannot have friends
friend-request-blocked = Friend request blocked
incoming-friend-requests-disabled = Incoming friend requests disabled
unknown-discord-tag = No users with DiscordTag exist
max-friends-reached = Maximum number of friends reached

# Teams and connected accounts
invalid-account-type = Invalid account type
bots-cannot-use-endpoint = Bots cannot use this endpoint
team-owner-cannot-leave = The team owner cannot leave or be removed; transfer the team first.
team-has-applications = The team still owns applications; delete them first.
application-already-in-team = This application already belongs to a team.
unknown-provider = Unknown provider
unknown-connection = Unknown connection
invalid-oauth-state = Invalid OAuth2 state
invalid-oauth-token = Invalid OAuth2 access token provided

# Threads
thread-already-created = A thread has already been created for this message
thread-locked = Thread is locked
max-active-threads-reached = Maximum number of active threads reached
max-active-announcement-threads-reached = Maximum number of active announcement threads reached
thread-archived = Operation cannot be performed on an archived thread

## Field errors (Discord's codes)
BASE_TYPE_REQUIRED = This field is required
BASE_TYPE_BAD_LENGTH = Must be between { $min } and { $max } in length.
BASE_TYPE_MAX_LENGTH = Must be { $max } or fewer in length.
BASE_TYPE_MIN_LENGTH = Must be { $min } or more in length.
USERNAME_TOO_MANY_USERS = Too many users have this username, please try another.
BASE_TYPE_MAX_ITEMS = Must be { $max } or fewer in number.
BASE_TYPE_MIN_ITEMS = Must be { $min } or more in number.
DATE_TYPE_TOO_FAR = Must be at most { $hours } hours from now.
NUMBER_TYPE_MIN = Value should be greater than or equal to { $min }.
NUMBER_TYPE_MAX = Value should be less than or equal to { $max }.
BASE_TYPE_BAD_TYPE = Value must be { $expected }.
NUMBER_TYPE_COERCE = Value is not a snowflake.
EMAIL_TYPE_INVALID_EMAIL = Not a well formed email address.
EMAIL_ALREADY_REGISTERED = Email is already registered.
USERNAME_ALREADY_TAKEN = Username is unavailable. Try adding numbers or underscores to it.
USERNAME_INVALID_CHARACTERS = Username contains characters or words that are not allowed.
PASSWORD_TOO_SHORT = Must be at least { $min } characters long.
INVALID_LOGIN = Login or password is invalid.
PASSWORD_DOES_NOT_MATCH = Password does not match.
DATE_OF_BIRTH_UNDERAGE = You need to be { $age } or older to use this instance.
DATE_TYPE_PARSE = Could not parse the date. Should be ISO8601 (YYYY-MM-DD).
BASE_TYPE_CHOICES = Value must be one of { $allowed }.
URL_TYPE_INVALID_URL = Not a well formed URL.
APPLICATION_COMMAND_INVALID_NAME = Command name is invalid
APPLICATION_COMMANDS_DUPLICATE_NAME = Application command names must be unique
APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID = Required options must be placed before non-required options
APPLICATION_COMMAND_OPTIONS_TYPE_INVALID = Sub-command and sub-command group option types are mutually exclusive to all other types
INTERACTION_TYPE_UNSUPPORTED = This interaction type is not supported here.
AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED = Maximum number of rules of this trigger type reached ({ $max }).
AUTO_MODERATION_INVALID_REGEX = Invalid regex pattern.

## Used only by the fallback test
only-in-english-test-key = English only

# OAuth2 user grants
OAUTH2_INVALID_REDIRECT_URI = Invalid "redirect_uri" in request.
oauth2-invalid-request = Invalid request: a required parameter is missing or malformed.
oauth2-invalid-client = Invalid client credentials.
oauth2-invalid-grant = Invalid, expired or already used grant.
oauth2-unsupported-grant-type = Unsupported grant type.
oauth2-invalid-scope = Invalid scope.

/* WWW-Authenticate parsing, token scopes and Docker credentials. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "common/bcrypto.h"
#include "common/common.h"
#include "image/img_regauth.h"

/* Credential helper output and config.json are small. */
#define IMG_CRED_HELPER_OUT_MAX (64u << 10)
#define IMG_DOCKER_CONFIG_MAX (4u << 20)
#define IMG_HUB_KEY "https://index.docker.io/v1/"

/* ---------- WWW-Authenticate ---------- */

/* RFC 7230 tchar */
static bool is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ws(const char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static char *lower_dup(const char *p, size_t n)
{
	char *s = xstrndup(p, n);
	for (char *q = s; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return s;
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static size_t token68_len(const char *p)
{
	size_t n = 0;
	while (isalnum((unsigned char)p[n]) || (p[n] && strchr("-._~+/", p[n])))
		n++;
	if (n == 0)
		return 0;
	while (p[n] == '=')
		n++;
	return n;
}

static void challenge_clear(struct img_auth_challenge *c)
{
	free(c->scheme);
	free(c->token68);
	for (size_t i = 0; i < c->n_params; i++) {
		free(c->params[i].name);
		free(c->params[i].value);
	}
	free(c->params);
	memset(c, 0, sizeof(*c));
}

void img_auth_challenges_clear(struct img_auth_challenges *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		challenge_clear(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* Quoted string starting at p (on the quote); value into *out. */
static const char *parse_quoted(const char *p, char **out)
{
	struct bbuf b = BBUF_INIT;
	p++;
	for (;;) {
		if (*p == '\0') {
			bbuf_release(&b);
			return NULL;
		}
		if (*p == '"')
			break;
		if (*p == '\\') {
			p++;
			if (*p == '\0') {
				bbuf_release(&b);
				return NULL;
			}
		}
		bbuf_addch(&b, *p, NULL);
		p++;
	}
	*out = bbuf_detach(&b, NULL);
	return p + 1;
}

/* Is p the start of "token BWS =" with something other than '=' after
 * (i.e. an auth-param rather than a token68's padding)? */
static bool at_param(const char *p)
{
	size_t n = 0;
	while (is_tchar((unsigned char)p[n]))
		n++;
	if (n == 0)
		return false;
	const char *q = skip_ws(p + n);
	if (*q != '=')
		return false;
	q = skip_ws(q + 1);
	return *q != '=' ;
}

int img_auth_parse(const char *header, struct img_auth_challenges *out, struct berr **err)
{
	if (strlen(header) > IMG_AUTH_HEADER_MAX)
		return berr_set(err, BERR_LIMIT, "WWW-Authenticate header longer than %d bytes",
				IMG_AUTH_HEADER_MAX);
	const char *p = header;
	size_t cap = out->n;
	struct img_auth_challenge *cur = NULL;
	for (;;) {
		while (is_ws(*p) || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		/* inside a challenge, "name=value" continues its params */
		if (cur && at_param(p))
			goto param;
		size_t n = 0;
		while (is_tchar((unsigned char)p[n]))
			n++;
		if (n == 0)
			return berr_set(err, BERR_INPUT, "WWW-Authenticate: unexpected character at offset %zu",
					(size_t)(p - header));
		if (out->n >= IMG_AUTH_MAX_CHALLENGES)
			return berr_set(err, BERR_LIMIT, "WWW-Authenticate: more than %d challenges",
					IMG_AUTH_MAX_CHALLENGES);
		XGROW(out->v, out->n + 1, cap);
		cur = &out->v[out->n++];
		memset(cur, 0, sizeof(*cur));
		cur->scheme = lower_dup(p, n);
		p += n;
		if (!is_ws(*p))
			continue; /* scheme alone */
		p = skip_ws(p);
		if (*p == '\0' || *p == ',')
			continue;
		if (!at_param(p)) {
			size_t t = token68_len(p);
			if (t == 0)
				return berr_set(err, BERR_INPUT,
						"WWW-Authenticate: unexpected character at offset %zu",
						(size_t)(p - header));
			cur->token68 = xstrndup(p, t);
			p = skip_ws(p + t);
			if (*p != '\0' && *p != ',')
				return berr_set(err, BERR_INPUT,
						"WWW-Authenticate: unexpected character at offset %zu",
						(size_t)(p - header));
			cur = NULL; /* token68 ends the challenge */
			continue;
		}
	param:
		if (cur->n_params >= IMG_AUTH_MAX_PARAMS)
			return berr_set(err, BERR_LIMIT, "WWW-Authenticate: more than %d parameters",
					IMG_AUTH_MAX_PARAMS);
		n = 0;
		while (is_tchar((unsigned char)p[n]))
			n++;
		char *name = lower_dup(p, n);
		p = skip_ws(p + n);
		p = skip_ws(p + 1); /* '=' (checked by at_param) */
		char *value = NULL;
		if (*p == '"') {
			const char *q = parse_quoted(p, &value);
			if (!q) {
				free(name);
				return berr_set(err, BERR_INPUT,
						"WWW-Authenticate: unterminated quoted string for '%s'", cur->params ? cur->params[0].name : "parameter");
			}
			p = q;
		} else {
			size_t v = 0;
			while (is_tchar((unsigned char)p[v]) || p[v] == '/' || p[v] == ':')
				v++;
			value = xstrndup(p, v);
			p += v;
		}
		cur->params = xreallocarray(cur->params, cur->n_params + 1, sizeof(*cur->params));
		cur->params[cur->n_params].name = name;
		cur->params[cur->n_params].value = value;
		cur->n_params++;
		p = skip_ws(p);
		if (*p != '\0' && *p != ',')
			return berr_set(err, BERR_INPUT, "WWW-Authenticate: unexpected character at offset %zu",
					(size_t)(p - header));
	}
}

const struct img_auth_challenge *img_auth_find(const struct img_auth_challenges *c,
					       const char *scheme)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcasecmp(c->v[i].scheme, scheme) == 0)
			return &c->v[i];
	return NULL;
}

const char *img_auth_param(const struct img_auth_challenge *ch, const char *name)
{
	for (size_t i = 0; i < ch->n_params; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	return NULL;
}

/* ---------- scopes ---------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "type:name:" prefix length of a scope (name may contain ':' for ports),
 * 0 when malformed: the actions follow the last ':'. */
static size_t scope_resource_len(const char *s)
{
	const char *c = strrchr(s, ':');
	if (!c || c == s || !strchr(s, ':') || strchr(s, ':') == c)
		return 0;
	return (size_t)(c - s) + 1;
}

/* merge actions lists "a,b" + "c" -> sorted unique */
static char *merge_actions(const char *a1, const char *a2)
{
	char *all = xasprintf("%s,%s", a1, a2);
	char **v = NULL;
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(all, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(v[i], t) == 0;
		if (dup || !*t)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = t;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), str_cmp);
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < n; i++)
		bbuf_addf(&b, NULL, "%s%s", i ? "," : "", v[i]);
	free(v);
	free(all);
	return bbuf_detach(&b, NULL);
}

static void scopes_add_one(struct img_scopes *s, const char *sc, size_t len)
{
	_cleanup_free_ char *one = xstrndup(sc, len);
	size_t rl = scope_resource_len(one);
	for (size_t i = 0; rl && i < s->n; i++) {
		if (scope_resource_len(s->v[i]) == rl && strncmp(s->v[i], one, rl) == 0) {
			_cleanup_free_ char *acts = merge_actions(s->v[i] + rl, one + rl);
			char *merged = xasprintf("%.*s%s", (int)rl, one, acts);
			free(s->v[i]);
			s->v[i] = merged;
			/* the new action list can move the entry */
			qsort(s->v, s->n, sizeof(*s->v), str_cmp);
			return;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], one) == 0)
			return;
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	if (rl) { /* normalise the action list order */
		_cleanup_free_ char *acts = merge_actions(one + rl, "");
		s->v[s->n++] = xasprintf("%.*s%s", (int)rl, one, acts);
	} else {
		s->v[s->n++] = steal_pointer(&one);
	}
	qsort(s->v, s->n, sizeof(*s->v), str_cmp);
}

void img_scopes_add(struct img_scopes *s, const char *scopes)
{
	const char *p = scopes;
	while (p && *p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n)
			scopes_add_one(s, p, n);
		p += n;
	}
}

void img_scopes_add_repo(struct img_scopes *s, const char *repo, const char *actions)
{
	_cleanup_free_ char *sc = xasprintf("repository:%s:%s", repo, actions);
	scopes_add_one(s, sc, strlen(sc));
}

void img_scopes_clear(struct img_scopes *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

char *img_scopes_join(const struct img_scopes *s)
{
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		bbuf_addf(&b, NULL, "%s%s", i ? " " : "", s->v[i]);
	return bbuf_detach(&b, NULL);
}

static bool action_in(const char *list, const char *a, size_t alen)
{
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		if ((n == alen && strncmp(p, a, n) == 0) || (n == 1 && *p == '*'))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

bool img_scopes_cover(const struct img_scopes *have, const struct img_scopes *need)
{
	for (size_t i = 0; i < need->n; i++) {
		const char *n = need->v[i];
		size_t rl = scope_resource_len(n);
		bool found = false;
		for (size_t j = 0; j < have->n && !found; j++) {
			const char *h = have->v[j];
			if (!rl) {
				found = strcmp(h, n) == 0;
				continue;
			}
			if (scope_resource_len(h) != rl || strncmp(h, n, rl) != 0)
				continue;
			found = true;
			for (const char *a = n + rl; *a && found;) {
				size_t al = strcspn(a, ",");
				found = action_in(h + rl, a, al);
				a += al;
				if (*a == ',')
					a++;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/* ---------- token responses ---------- */

void img_token_clear(struct img_token *t)
{
	if (!t)
		return;
	free(t->token);
	free(t->refresh_token);
	memset(t, 0, sizeof(*t));
}

#define IMG_TOKEN_MIN_EXPIRY 60

int img_token_parse(const char *json, size_t len, struct img_token *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return berr_set(err, BERR_INPUT, "token response: not a JSON object");
	}
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(tok) || !*tok->valuestring)
		tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	if (!cJSON_IsString(tok) || !*tok->valuestring) {
		cJSON_Delete(root);
		return berr_set(err, BERR_INPUT, "token response: no 'token' or 'access_token'");
	}
	out->token = xstrdup(tok->valuestring);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "refresh_token");
	if (cJSON_IsString(rt) && *rt->valuestring)
		out->refresh_token = xstrdup(rt->valuestring);
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	out->expires_in = IMG_TOKEN_MIN_EXPIRY;
	if (cJSON_IsNumber(ex) && ex->valuedouble > IMG_TOKEN_MIN_EXPIRY &&
	    ex->valuedouble < (double)INT32_MAX)
		out->expires_in = (int64_t)ex->valuedouble;
	cJSON_Delete(root);
	return 0;
}

/* ---------- credentials ---------- */

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void img_cred_clear(struct img_cred *c)
{
	if (!c)
		return;
	free(c->username);
	free_secret(c->password);
	free_secret(c->identity_token);
	free_secret(c->registry_token);
	memset(c, 0, sizeof(*c));
}

bool img_cred_empty(const struct img_cred *c)
{
	return !c->username && !c->password && !c->identity_token && !c->registry_token;
}

static bool is_hub(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0 ||
	       strcmp(domain, "registry-1.docker.io") == 0;
}

char *img_cred_key(const char *domain)
{
	return xstrdup(is_hub(domain) ? IMG_HUB_KEY : domain);
}

/* "https://host:5000/v1/" -> "host:5000" (docker's ConvertToHostname) */
static char *key_hostname(const char *k)
{
	const char *p = k;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	return xstrndup(p, strcspn(p, "/"));
}

/* base64("user:password") */
static int decode_auth(const char *b64, const char *what, struct img_cred *out, struct berr **err)
{
	size_t n = strlen(b64);
	if (n == 0)
		return 0;
	if (n > 16384)
		return berr_set(err, BERR_INPUT, "%s: 'auth' is too long", what);
	unsigned char *buf = xmalloc(n + 4);
	int len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(buf);
		return berr_set(err, BERR_INPUT, "%s: 'auth' is not valid base64", what);
	}
	/* EVP_DecodeBlock counts padding bytes as NULs */
	while (n > 0 && b64[n - 1] == '=' && len > 0) {
		n--;
		len--;
	}
	buf[len] = '\0';
	char *colon = memchr(buf, ':', (size_t)len);
	if (!colon) {
		explicit_bzero(buf, (size_t)len);
		free(buf);
		return berr_set(err, BERR_INPUT, "%s: 'auth' does not decode to 'user:password'", what);
	}
	*colon = '\0';
	free(out->username);
	free_secret(out->password);
	out->username = xstrdup((char *)buf);
	out->password = xstrdup(colon + 1);
	explicit_bzero(buf, (size_t)len);
	free(buf);
	return 0;
}

static void set_str(char **dst, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsString(v) && *v->valuestring) {
		free_secret(*dst);
		*dst = xstrdup(v->valuestring);
	}
}

static int auth_entry(const cJSON *e, const char *what, struct img_cred *out, struct berr **err)
{
	if (!cJSON_IsObject(e))
		return berr_set(err, BERR_INPUT, "%s: not an object", what);
	set_str(&out->username, e, "username");
	set_str(&out->password, e, "password");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "auth");
	if (cJSON_IsString(a) && decode_auth(a->valuestring, what, out, err) < 0)
		return -1;
	set_str(&out->identity_token, e, "identitytoken");
	set_str(&out->registry_token, e, "registrytoken");
	return 0;
}

/* auths lookup: exact key, then hostname-normalized keys */
static int from_auths(const cJSON *auths, const char *key, const char *file, struct img_cred *out,
		      struct berr **err)
{
	if (!cJSON_IsObject(auths))
		return 0;
	_cleanup_free_ char *what = NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(auths, key);
	if (!e) {
		_cleanup_free_ char *want = key_hostname(key);
		const cJSON *it;
		cJSON_ArrayForEach(it, auths) {
			_cleanup_free_ char *h = key_hostname(it->string);
			if (strcmp(h, want) == 0) {
				e = it;
				break;
			}
		}
	}
	if (!e)
		return 0;
	what = xasprintf("%s: auths['%s']", file, e->string);
	return auth_entry(e, what, out, err);
}

int img_cred_lookup(const char *config_dir, const char *domain, struct img_cred *out,
		    struct berr **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *key = img_cred_key(domain);
	const char *envcfg = getenv("DOCKER_AUTH_CONFIG");
	if (envcfg && *envcfg) {
		cJSON *root = cJSON_Parse(envcfg);
		if (!root)
			return berr_set(err, BERR_INPUT, "DOCKER_AUTH_CONFIG: not valid JSON");
		int rc = from_auths(cJSON_GetObjectItemCaseSensitive(root, "auths"), key,
				    "DOCKER_AUTH_CONFIG", out, err);
		cJSON_Delete(root);
		if (rc < 0 || !img_cred_empty(out))
			return rc;
	}
	_cleanup_free_ char *dir = NULL;
	if (config_dir)
		dir = xstrdup(config_dir);
	else if (getenv("DOCKER_CONFIG") && *getenv("DOCKER_CONFIG"))
		dir = xstrdup(getenv("DOCKER_CONFIG"));
	else if (getenv("HOME") && *getenv("HOME"))
		dir = xasprintf("%s/.docker", getenv("HOME"));
	else
		return 0;
	_cleanup_free_ char *file = xasprintf("%s/config.json", dir);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	struct berr *e2 = NULL;
	if (bfile_read_all(file, IMG_DOCKER_CONFIG_MAX, &b, &e2) < 0) {
		if (e2->code == BERR_NOTFOUND || e2->errnum == ENOENT) {
			berr_free(e2);
			return 0;
		}
		*err = e2;
		return -1;
	}
	cJSON *root = cJSON_ParseWithLength(b.data, b.len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return berr_set(err, BERR_INPUT, "%s: not a JSON object", file);
	}
	int rc = 0;
	const char *helper = NULL;
	const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(root, "credHelpers");
	if (cJSON_IsObject(helpers)) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(helpers, key);
		if (!h)
			h = cJSON_GetObjectItemCaseSensitive(helpers, domain);
		if (cJSON_IsString(h) && *h->valuestring)
			helper = h->valuestring;
	}
	const cJSON *store = cJSON_GetObjectItemCaseSensitive(root, "credsStore");
	if (!helper && cJSON_IsString(store) && *store->valuestring)
		helper = store->valuestring;
	if (helper) {
		rc = img_cred_helper_get(helper, key, out, err);
		if (rc < 0)
			berr_wrap(err, "%s", file);
	}
	if (rc == 0 && img_cred_empty(out))
		rc = from_auths(cJSON_GetObjectItemCaseSensitive(root, "auths"), key, file, out, err);
	cJSON_Delete(root);
	return rc;
}

static bool helper_name_ok(const char *h)
{
	if (!*h || strlen(h) > 64)
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

int img_cred_helper_get(const char *helper, const char *server, struct img_cred *out,
			struct berr **err)
{
	memset(out, 0, sizeof(*out));
	if (!helper_name_ok(helper))
		return berr_set(err, BERR_INPUT, "credential helper name '%s' is not valid", helper);
	_cleanup_free_ char *prog = xasprintf("docker-credential-%s", helper);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]); close(in[1]); close(outp[0]); close(outp[1]);
		return berr_set_errno(err, BERR_IO, e, "fork");
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (dup2(in[0], 0) < 0 || dup2(outp[1], 1) < 0 ||
		    (devnull >= 0 && dup2(devnull, 2) < 0))
			_exit(127);
		execlp(prog, prog, "get", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* ignore SIGPIPE while writing: a helper may exit without reading */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	size_t sl = strlen(server);
	ssize_t w = write(in[1], server, sl);
	(void)w;
	close(in[1]);
	sigaction(SIGPIPE, &old, NULL);
	struct bbuf b = BBUF_INIT;
	b.limit = IMG_CRED_HELPER_OUT_MAX;
	struct berr *rerr = NULL;
	int rrc = bfd_read_all(outp[0], prog, IMG_CRED_HELPER_OUT_MAX, &b, &rerr);
	close(outp[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = 0;
	if (rrc < 0) {
		*err = rerr;
		rc = -1;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && b.len == 0) {
		rc = berr_set(err, BERR_NOTFOUND, "credential helper '%s' could not be run", prog);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (strstr(bbuf_str(&b), "credentials not found"))
			rc = 0; /* no entry for this server: not an error */
		else
			rc = berr_set(err, BERR_FAILED, "credential helper '%s' failed (%s %d)", prog,
				      WIFEXITED(st) ? "exit status" : "signal",
				      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	} else {
		cJSON *root = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
		if (!cJSON_IsObject(root)) {
			rc = berr_set(err, BERR_INPUT, "credential helper '%s': output is not a JSON object",
				      prog);
		} else {
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "Username");
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "Secret");
			if (cJSON_IsString(s) && *s->valuestring) {
				if (cJSON_IsString(u) && strcmp(u->valuestring, "<token>") == 0) {
					out->identity_token = xstrdup(s->valuestring);
				} else {
					out->username = cJSON_IsString(u) ? xstrdup(u->valuestring) : NULL;
					out->password = xstrdup(s->valuestring);
				}
			}
		}
		if (root) {
			/* scrub the secret from the parser's copy too */
			cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "Secret");
			if (cJSON_IsString(s))
				explicit_bzero(s->valuestring, strlen(s->valuestring));
		}
		cJSON_Delete(root);
	}
	if (b.data)
		explicit_bzero(b.data, b.len);
	bbuf_release(&b);
	return rc;
}

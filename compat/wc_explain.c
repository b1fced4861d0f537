/* `berth compat explain`: recognise well-known Windows container failure
 * messages (windows-compat.md §3) and say what they mean and what to do. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc.h"

enum detail_kind { D_NONE, D_IMAGE_HOST, D_HOST, D_HOST_PLAT };

struct pattern {
	const char *id, *regex;
	enum detail_kind detail;
	const char *title, *cause, *fix, *source;
};

static const struct pattern patterns[] = {
	{ "hcs-image-mismatch",
	  "container operating system does not match the host operating system|operating system of "
	  "the container does not match the operating system of the host|0x[cC8]0370101|"
	  "HCS_E_IMAGE_MISMATCH|ERROR_VMCOMPUTE_IMAGE_MISMATCH",
	  D_NONE, "HCS image mismatch (HCS_E_IMAGE_MISMATCH, 0x80370101 / 0xC0370101)",
	  "At container start the image's Windows build is not allowed on this host in this isolation "
	  "mode, almost always process isolation with a different build.",
	  "Use an image whose build matches the host, run it with --isolation=hyperv if the host is "
	  "newer than the image, or move it to a host with the same build; "
	  "'berth compat check --image IMAGE --host HOST' shows which works.",
	  "HCSERR; VC-HEAD" },
	{ "pull-image-newer",
	  "a Windows version (10\\.0\\.(\\d+))(?:\\.\\d+)?-based image is incompatible with a "
	  "(10\\.0\\.(\\d+))(?:\\.\\d+)? host",
	  D_IMAGE_HOST, "image newer than the host (Docker pull check)",
	  "The image (or the selected manifest entry) has a newer build than the host; newer images "
	  "never run on older hosts, in either isolation mode.",
	  "Pull a tag built for the host's release (or older, with Hyper-V isolation), or upgrade the "
	  "host.",
	  "MOBY-PULL; VC-HEAD" },
	{ "no-manifest-containerd-store",
	  "no matching manifest for windows\\((10\\.0\\.(\\d+))[^)]*\\)/(\\w+)",
	  D_HOST_PLAT, "no manifest entry accepted (Docker with the containerd image store)",
	  "The containerd platform matcher rejected every entry of the manifest list. On hosts newer "
	  "than build 26100 (Windows 11 25H2), containerd 2.2-2.3 (platforms rc.2-rc.4) wrongly "
	  "rejects ltsc2022 images (moby#53397, fixed in platforms rc.5).",
	  "If the image is ltsc2022 on a 26200+ host: upgrade Docker/containerd, or pull the single-"
	  "arch tag (ltsc2022-amd64) or a digest. Otherwise the host is older than every entry: pick "
	  "an older tag or a newer host.",
	  "MOBY-53397; MOBY-VENDOR-PLAT-rc5" },
	{ "no-manifest-classic",
	  "no matching manifest for windows/(\\w+) (10\\.0\\.(\\d+))",
	  D_HOST, "no manifest entry for this host (Docker classic pull)",
	  "None of the manifest list's Windows entries has a build at or below the host's (for "
	  "example ltsc2022 pulled on Windows Server 2019 or on Windows 10), or the list has no "
	  "Windows entry at all.",
	  "Use a tag for the host's release (ltsc2019 on a 17763 host) with process isolation, an "
	  "older one with Hyper-V isolation, or a newer host (Windows 11 or Windows Server 2022+ for "
	  "ltsc2022).",
	  "MOBY-PULL; VC-HEAD" },
	{ "no-manifest-unknown",
	  "no matching manifest for unknown in the manifest list entries",
	  D_NONE, "no manifest entry (older Docker)",
	  "The host is older than every entry of the list: older Windows versions cannot run newer "
	  "containers, so Docker refuses to pull them.",
	  "Pull a tag built for the host's release or upgrade the host.",
	  "TC-ws2019-GA" },
	{ "containerd-no-match",
	  "no match for platform in manifest",
	  D_NONE, "no manifest entry accepted (containerd / CRI pull)",
	  "The containerd matcher accepted no entry for the host. containerd before 1.6.23 and "
	  "1.7.0-1.7.5 accept only the exact host build, so ltsc2022 lists failed on Windows 11 and "
	  "other 20348+ hosts while the single-arch ltsc2022-amd64 tag worked.",
	  "Upgrade containerd (1.6.23+ / 1.7.6+), use the single-arch -amd64 tag, or pick an image "
	  "whose build matches the node's node.kubernetes.io/windows-build label.",
	  "CTRD-6508; PLAT" },
	{ "utility-vm-path",
	  "ProcessUtilityVMImage.*UtilityVM: The system cannot find the path specified",
	  D_NONE, "newer image on an older host (Docker before 18.03)",
	  "Old Docker versions failed this way when pulling an image with a newer build than the host.",
	  "Use an image built for the host's release or upgrade the host.",
	  "VC-HEAD; MOBY-PULL" },
	{ "linux-engine",
	  "image operating system \"?windows\"? cannot be used on this platform",
	  D_NONE, "Windows image on a Linux engine",
	  "The Docker daemon runs Linux containers (Linux host, or Docker Desktop in Linux mode).",
	  "Switch Docker Desktop to Windows containers or use a Windows host.",
	  "VC-HEAD" },
	{ "hyperv-not-installed",
	  "required feature is not installed|0x80370102|HCS_E_HYPERV_NOT_INSTALLED",
	  D_NONE, "Hyper-V not available (HCS_E_HYPERV_NOT_INSTALLED, 0x80370102)",
	  "Hyper-V isolation was asked for but the Hyper-V feature is not installed, or the host is a "
	  "VM without nested virtualization.",
	  "Install the Hyper-V role (in a VM: enable nested virtualization, >= 4 GB RAM, >= 2 vCPU) or "
	  "use process isolation with an image of the host's build.",
	  "HCSERR; SYSREQ" },
	{ "insider-required",
	  "must join the Windows Insider Program|0x80370113|HCS_E_WINDOWS_INSIDER_REQUIRED",
	  D_NONE, "Insider image on a non-Insider host (0x80370113)",
	  "The image comes from an Insider repository and needs an Insider host.",
	  "Use a released base image (mcr.microsoft.com/windows/servercore, not .../insider).",
	  "HCSERR; CBI" },
	{ "invalid-layer",
	  "layer with an unrecognized format|0x80370112|HCS_E_INVALID_LAYER",
	  D_NONE, "unrecognised layer format (HCS_E_INVALID_LAYER, 0x80370112)",
	  "A layer is corrupt or in a format HCS does not accept.",
	  "Re-pull or rebuild the image; check that Windows layers were written in the Windows layer "
	  "format.",
	  "HCSERR" },
	{ "daemon-too-old",
	  "this version of Windows does not support the docker daemon",
	  D_NONE, "host too old for Docker Engine 23+",
	  "Docker Engine 23.0 and later need Windows build 17763 (Windows Server 2019 / 1809) or "
	  "later.",
	  "Upgrade the host to Windows Server 2019 or later, or stay on an older Docker Engine.",
	  "MOBY-DAEMON" },
	{ "baseline-2020-02",
	  "3221225785|0xC0000139",
	  D_NONE, "February 2020 baseline mismatch (exit 3221225785 / 0xC0000139)",
	  "In process isolation, the host and the image are on opposite sides of the February 2020 "
	  "(2B) security update baseline; 32-bit processes fail to start.",
	  "Patch host and image to the same side: both at or after the February 2020 updates "
	  "(e.g. 17763.1039+ host with a 17763.1040+ image).",
	  "UPD; DFNET-523" },
	{ "swarm-starting-failed",
	  "starting container failed|REPLICAS\\s+0/1",
	  D_NONE, "Swarm task does not start",
	  "Swarm hides the underlying error; on Windows it is usually the HCS image mismatch.",
	  "Run 'docker service ps --no-trunc SERVICE' to see the full error, then explain that.",
	  "VC-HEAD" },
};

static void name_build(const struct wc_kb *kb, const char *num, char *buf, size_t n)
{
	char *end;
	unsigned long b = strtoul(num, &end, 10);
	const struct wc_release *r = kb && *end == '\0' ? wc_kb_by_build(kb, (uint32_t)b, false) : NULL;
	snprintf(buf, n, "%s (%s)", num, r ? r->name : "unknown release");
}

static void fill_detail(const struct wc_kb *kb, const struct pattern *p, const char *text,
			PCRE2_SIZE *ov, int rc, struct wc_explanation *out)
{
	char g[6][32];
	for (int i = 0; i < 6; i++) {
		g[i][0] = '\0';
		if (i < rc && ov[2 * i] != PCRE2_UNSET) {
			size_t len = ov[2 * i + 1] - ov[2 * i];
			snprintf(g[i], sizeof(g[i]), "%.*s", (int)(len < 31 ? len : 31), text + ov[2 * i]);
		}
	}
	char a[96], b[96];
	switch (p->detail) {
	case D_IMAGE_HOST:
		name_build(kb, g[2], a, sizeof(a));
		name_build(kb, g[4], b, sizeof(b));
		snprintf(out->detail, sizeof(out->detail), "image build %s, host build %s", a, b);
		break;
	case D_HOST:
		name_build(kb, g[3], a, sizeof(a));
		snprintf(out->detail, sizeof(out->detail), "host build %s, architecture %s", a, g[1]);
		break;
	case D_HOST_PLAT: {
		name_build(kb, g[2], a, sizeof(a));
		unsigned long hb = strtoul(g[2], NULL, 10);
		snprintf(out->detail, sizeof(out->detail), "host build %s, architecture %s%s", a, g[3],
			 hb > 26100 ? "; this host is where containerd 2.2-2.3 rejects ltsc2022 images" : "");
		break;
	}
	default:
		break;
	}
}

size_t wc_explain(const struct wc_kb *kb, const char *text, struct wc_explanation *out, size_t max)
{
	size_t n = 0;
	bool containerd_store = false;
	for (size_t i = 0; i < ARRAY_SIZE(patterns) && n < max; i++) {
		const struct pattern *p = &patterns[i];
		int ec;
		PCRE2_SIZE eo;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->regex, PCRE2_ZERO_TERMINATED,
					       PCRE2_CASELESS, &ec, &eo, NULL);
		if (!re)
			continue;       /* the table is constant; a unit test compiles every entry */
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
		if (rc > 0) {
			/* the containerd-store message also contains "no match for platform" */
			bool skip = strcmp(p->id, "containerd-no-match") == 0 && containerd_store;
			if (!skip) {
				struct wc_explanation *x = &out[n++];
				memset(x, 0, sizeof(*x));
				x->id = p->id;
				x->title = p->title;
				x->cause = p->cause;
				x->fix = p->fix;
				x->source = p->source;
				fill_detail(kb, p, text, pcre2_get_ovector_pointer(md), rc, x);
			}
			if (strcmp(p->id, "no-manifest-containerd-store") == 0)
				containerd_store = true;
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	return n;
}

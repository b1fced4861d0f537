# compat/: embed the release knowledge base (compat/releases.json) into the
# binary as a C array, so berth needs no data files at run time.

# The Makefile includes rules.mk before its "all" rule: keep "all" the default.
.DEFAULT_GOAL := all

build-gen/wc_releases_data.h: compat/releases.json compat/rules.mk
	@mkdir -p $(@D)
	$(if $(Q),@echo "  GEN     $@")
	$(Q){ echo '/* generated from compat/releases.json by compat/rules.mk */'; \
	  echo 'static const unsigned char wc_releases_json[] = {'; \
	  od -An -v -tx1 < $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; } > $@.tmp && mv $@.tmp $@

GEN_HDRS += build-gen/wc_releases_data.h

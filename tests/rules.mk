# Helper programs used by shell suites; built before `make test-run`.
# (The Makefile includes */rules.mk before its own first rule: keep `all` the
# default goal.)
.DEFAULT_GOAL := all
TEST_TOOLS := $(BUILD)/tools/berth-layer-tool $(BUILD)/tools/berth-no-openat2

$(BUILD)/tools/berth-layer-tool: tests/tools/layer_tool.c $(LIBBERTH)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBBERTH) $(TEST_LIBS)

$(BUILD)/tools/berth-no-openat2: tests/tools/no_openat2.c tests/tools/no_openat2.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

test-run: $(TEST_TOOLS)

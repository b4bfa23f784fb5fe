# `sam build` calls build-<LogicalId> for each function (BuildMethod: makefile). Each service is
# published as a Native AOT binary for linux-arm64 (the functions run on Graviton: cheaper per GB-second)
# and packaged as `bootstrap` for provided.al2023; AWS Lambda Web Adapter (a layer) turns Lambda events
# into HTTP requests to it. On an x64 machine the link uses Debian's cross toolchain:
#   apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
# (the binaries need glibc 2.34 at most: provided.al2023's).
CROSS_LINK := -p:CppCompilerAndLinker=$(CURDIR)/infrastructure/aarch64-linux-gnu-cc.sh -p:ObjCopyName=aarch64-linux-gnu-objcopy
define publish
	dotnet publish services/EcpayEvents.$(1)/EcpayEvents.$(1).csproj -c Release -r linux-arm64 $(if $(filter aarch64 arm64,$(shell uname -m)),,$(CROSS_LINK)) -o "$(ARTIFACTS_DIR)/publish"
	cp "$(ARTIFACTS_DIR)/publish/EcpayEvents.$(1)" "$(ARTIFACTS_DIR)/bootstrap"
	rm -rf "$(ARTIFACTS_DIR)/publish"
endef

build-NotificationsFunction:
	$(call publish,Notifications)
build-SettlementFunction:
	$(call publish,Settlement)
build-PaymentsApiFunction:
	$(call publish,PaymentsApi)
build-TimeoutsFunction:
	$(call publish,Timeouts)

.PHONY: build-NotificationsFunction build-SettlementFunction build-PaymentsApiFunction build-TimeoutsFunction

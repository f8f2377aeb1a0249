import Foundation
import Testing

@testable import GuestImage

/// Builds minimal relocatable ELF files with a `.modinfo` section, standing in for kernel modules.
enum SyntheticModule {
    static func elf(name: String, depends: [String]) -> Data {
        let modinfo = Data("license=GPL\0depends=\(depends.joined(separator: ","))\0name=\(name)\0".utf8)
        let sectionNames = Data("\0.modinfo\0.shstrtab\0".utf8)
        let modinfoOffset = 64
        let namesOffset = modinfoOffset + modinfo.count
        let sectionTableOffset = (namesOffset + sectionNames.count + 7) & ~7

        var data = Data()
        data.append(contentsOf: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0])
        data.append(Data(repeating: 0, count: 8))
        appendInteger(UInt16(1), to: &data)  // e_type: ET_REL
        appendInteger(UInt16(62), to: &data)  // e_machine: EM_X86_64
        appendInteger(UInt32(1), to: &data)  // e_version
        appendInteger(UInt64(0), to: &data)  // e_entry
        appendInteger(UInt64(0), to: &data)  // e_phoff
        appendInteger(UInt64(sectionTableOffset), to: &data)  // e_shoff
        appendInteger(UInt32(0), to: &data)  // e_flags
        appendInteger(UInt16(64), to: &data)  // e_ehsize
        appendInteger(UInt16(0), to: &data)  // e_phentsize
        appendInteger(UInt16(0), to: &data)  // e_phnum
        appendInteger(UInt16(64), to: &data)  // e_shentsize
        appendInteger(UInt16(3), to: &data)  // e_shnum
        appendInteger(UInt16(2), to: &data)  // e_shstrndx
        data.append(modinfo)
        data.append(sectionNames)
        data.append(Data(repeating: 0, count: sectionTableOffset - data.count))

        appendSectionHeader(name: 0, type: 0, offset: 0, size: 0, to: &data)
        appendSectionHeader(name: 1, type: 1, offset: modinfoOffset, size: modinfo.count, to: &data)
        appendSectionHeader(name: 10, type: 3, offset: namesOffset, size: sectionNames.count, to: &data)
        return data
    }

    private static func appendSectionHeader(name: UInt32, type: UInt32, offset: Int, size: Int, to data: inout Data) {
        appendInteger(name, to: &data)
        appendInteger(type, to: &data)
        appendInteger(UInt64(0), to: &data)  // sh_flags
        appendInteger(UInt64(0), to: &data)  // sh_addr
        appendInteger(UInt64(offset), to: &data)
        appendInteger(UInt64(size), to: &data)
        appendInteger(UInt32(0), to: &data)  // sh_link
        appendInteger(UInt32(0), to: &data)  // sh_info
        appendInteger(UInt64(1), to: &data)  // sh_addralign
        appendInteger(UInt64(0), to: &data)  // sh_entsize
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}

@Suite struct KernelModulesTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("stint-gi-modules-\(UUID().uuidString)")
        .path

    private func write(_ data: Data, _ relativePath: String) throws {
        let path = root + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func compressWithXZ(_ relativePath: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try HostTool.locate("xz", debianPackage: "xz-utils"))
        process.arguments = [root + "/" + relativePath]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "xz failed on \(relativePath)")
    }

    @Test func dependenciesLoadFirst() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let shared = SyntheticModule.elf(name: "shared_base", depends: [])
        try write(SyntheticModule.elf(name: "top", depends: ["middle", "shared-base"]), "kernel/drivers/top.ko")
        try write(SyntheticModule.elf(name: "middle", depends: ["shared_base"]), "kernel/lib/middle.ko")
        try write(shared, "kernel/lib/deep/shared-base.ko")
        try compressWithXZ("kernel/lib/deep/shared-base.ko")
        let destination = root + "/out"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)

        let order = try KernelModules.install(["kernel/drivers/top.ko"], from: root, into: destination)

        #expect(order == ["shared_base.ko", "middle.ko", "top.ko"])
        #expect(FileManager.default.contents(atPath: destination + "/shared_base.ko") == shared)
    }

    @Test func dependenciesMatchModinfo() throws {
        let module = SyntheticModule.elf(name: "m", depends: ["a", "b_c"])
        #expect(try KernelModules.dependencies(of: module, path: "m.ko") == ["a", "b_c"])
        #expect(try KernelModules.dependencies(of: SyntheticModule.elf(name: "n", depends: []), path: "n.ko") == [])
    }

    @Test func missingDependencyIsReported() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(SyntheticModule.elf(name: "top", depends: ["absent"]), "kernel/top.ko")

        let error = #expect(throws: GuestImageError.self) {
            try KernelModules.install(["kernel/top.ko"], from: root, into: root)
        }
        #expect(error?.code == .moduleNotFound)
        #expect(error?.message.contains("absent") == true)
    }

    @Test func missingRequiredModuleIsReported() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)

        let error = #expect(throws: GuestImageError.self) {
            try KernelModules.install(["kernel/drivers/acpi/button.ko"], from: root, into: root)
        }
        #expect(error?.code == .moduleNotFound)
        #expect(error?.message.contains("kernel/drivers/acpi/button.ko") == true)
    }

    @Test func dependencyCycleIsReported() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(SyntheticModule.elf(name: "x", depends: ["y"]), "kernel/x.ko")
        try write(SyntheticModule.elf(name: "y", depends: ["x"]), "kernel/y.ko")

        let error = #expect(throws: GuestImageError.self) {
            try KernelModules.install(["kernel/x.ko"], from: root, into: root)
        }
        #expect(error?.code == .moduleNotFound)
        #expect(error?.message.contains("depends on itself") == true)
    }

    @Test func fileWithoutModinfoIsRejected() throws {
        let busybox = try #require(FileManager.default.contents(atPath: "/bin/busybox"))
        let error = #expect(throws: GuestImageError.self) {
            try KernelModules.dependencies(of: busybox, path: "/bin/busybox")
        }
        #expect(error?.code == .invalidELF)
    }
}

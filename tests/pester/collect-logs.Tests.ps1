# collect-logs on a fake PC: one zip with the logs, redacted link.json, facts, events and a manifest.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFilesFakes.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/collect-logs.ps1'
    Set-FakeMachineMock
    Add-Type -AssemblyName System.IO.Compression
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    function Read-ZipBundle {
        # Entry names, and the text of the entries asked for, read without extracting.
        param([Parameter(Mandatory = $true)] [string] $ZipPath, [string[]] $Read = @())
        $archive = [System.IO.Compression.ZipFile]::OpenRead($ZipPath)
        try {
            $texts = @{}
            foreach ($entry in $archive.Entries) {
                if ($Read -contains $entry.FullName) {
                    $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $entry.Open()
                    try {
                        $texts[$entry.FullName] = $reader.ReadToEnd()
                    } finally {
                        $reader.Dispose()
                    }
                }
            }
            return [pscustomobject]@{ Names = @($archive.Entries | ForEach-Object { $_.FullName }); Texts = $texts }
        } finally {
            $archive.Dispose()
        }
    }
}

Describe 'collect-logs' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $companyId = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        $secret = 'connector-secret-7Qx'
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","auth":{{"token":"{1}","expires":3600}},"sync":true}}' -f $companyId, $secret)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text ("====== QBSDK session started ======`r`nError = 0x8004041D`r`n")
        Add-FakeEvent -Machine $machine -Provider 'QuickBooks' -Message 'QuickBooks Desktop stopped responding.'
        Add-FakeEvent -Machine $machine -Provider 'Service Control Manager' -Message 'An unrelated service failed.'
        $outputDirectory = Join-Path -Path $machine.Root -ChildPath 'bundles'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'writes one zip with the logs, a redacted link.json and a manifest' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        (Get-ResultCheck -Result $run.Result -Name 'bundle-written')[0].passed | Should -BeTrue
        $zipPath = [string]$run.Result.data.bundle.path
        $zipPath | Should -BeLike (Join-Path -Path $outputDirectory -ChildPath 'qbd-logs-*.zip')
        Test-Path -LiteralPath $zipPath -PathType Leaf | Should -BeTrue
        # The staging folder is gone: only the zip stays.
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 1
        $run.Result.data.event_count | Should -Be 1

        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath $zipPath -Read @('manifest.json', ($prefix + '/link.json'))
        foreach ($name in @('manifest.json', 'facts.json', 'events.json', ($prefix + '/link.json'))) {
            $bundle.Names | Should -Contain $name
        }
        @($bundle.Names | Where-Object { $_.StartsWith('tasks/') }) | Should -HaveCount 2

        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $manifest.redacted | Should -BeTrue
        @($manifest.files).Count | Should -Be (@($bundle.Names).Count - 1)
        $linkEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/link.json') })
        $linkEntry | Should -HaveCount 1
        $linkEntry[0].redacted | Should -BeTrue
        $factsEntry = @($manifest.files | Where-Object { $_.name -eq 'facts.json' })
        $factsEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $factsEntry[0].truncated | Should -BeFalse

        $link = $bundle.Texts[$prefix + '/link.json']
        $link | Should -BeLike ('*{0}*' -f $companyId)
        $link | Should -BeLike '*REDACTED*'
        $link | Should -Not -BeLike ('*{0}*' -f $secret)
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        (Get-ResultMessage -Result $run.Result -Text 'replaced by REDACTED') | Should -HaveCount 1
    }

    It 'leaves nothing behind under -WhatIf but lists what it would collect' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.Result.data.bundle.path | Should -BeNullOrEmpty
        @($run.Result.data.collected | Where-Object { $_.name -eq 'connector/legacy-Acme Books/link.json' }) | Should -HaveCount 1
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'Nothing was left on the PC') | Should -HaveCount 1
    }

    It 'names each connector log by its place under the connector folder' {

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('manifest.json')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log.1')
        $bundle.Names | Should -Contain 'quickbooks/qbsdklog.txt'
        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $logEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') })
        $logEntry | Should -HaveCount 1
        $logEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $logEntry[0].truncated | Should -BeFalse
        @($run.Result.data.collected | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') }) | Should -HaveCount 1
    }

    It 'names the owners it can read in facts.json and carries on past those it cannot' {
        # QuickBooks of another session whose owner is not readable (GetOwner answers 2), and
        # the Web Connector, which exits between being listed and being asked for its owner.
        $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe'
        $gone = Add-FakeProcess -Machine $machine -Name 'QBWebConnector.exe' -ExecutablePath 'C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe' -User 'alice'
        $null = $machine.EndAfterListing.Add($gone.ProcessId)

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('facts.json')
        $facts = ConvertFrom-Json -InputObject $bundle.Texts['facts.json']
        $owners = @{}
        foreach ($process in @($facts.processes)) { $owners[[string]$process.name] = [string]$process.owner }
        @($facts.processes) | Should -HaveCount 3
        $owners['QuickbooksDesktopUI.exe'] | Should -Be 'PC\alice'
        $owners['QBW32.exe'] | Should -Be ''
        $owners['QBWebConnector.exe'] | Should -Be ''
    }

    It 'writes to the temporary folder without -OutputDirectory and, not run as SYSTEM, says nothing about SYSTEM' {
        # Whether the script runs as SYSTEM is read from .NET's WindowsIdentity, which exists only
        # on Windows and which no mock reaches: the SYSTEM case itself needs a SYSTEM run.
        Skip-OffWindows -Because 'collect-logs asks .NET''s WindowsIdentity who runs it, which exists only on Windows'

        $run = Invoke-RenderedScript -ScriptPath $script:Path
        $zipPath = [string]$run.Result.data.bundle.path
        try {
            $run.Result.status | Should -Be 'ok' -Because $run.Json
            [System.IO.Path]::GetDirectoryName($zipPath).TrimEnd('\') | Should -Be ([System.IO.Path]::GetTempPath().TrimEnd('\'))
            (Get-ResultMessage -Result $run.Result -Text 'Run as SYSTEM') | Should -HaveCount 0
        } finally {
            if ($zipPath -and (Test-Path -LiteralPath $zipPath)) { Remove-Item -LiteralPath $zipPath -Force }
        }
    }

    It 'adds nothing of the Web Connector where it left no trace' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        @($run.Result.data.collected | Where-Object { $_.name.StartsWith('web-connector/') }) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'Web Connector:') | Should -HaveCount 0
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('manifest.json')
        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $manifest.web_connector.files | Should -Be 0
        $manifest.web_connector.registry_keys | Should -Be 0
        $manifest.web_connector.qwc_files | Should -Be 0
        @($manifest.web_connector.hives_not_loaded) | Should -HaveCount 1
    }

    Context 'the Web Connector generation beside the legacy connector' {
        BeforeEach {
            $webConnectorFolder = Add-FakeWebConnector -Machine $machine
            $qbwc = Join-Path -Path $webConnectorFolder -ChildPath 'QBWebConnector.exe'
            $logFolder = Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log'
            $null = Write-FakeFile -Path (Join-Path -Path $logFolder -ChildPath 'QWCLog_20240430.txt') -Text "20240430.19:00:00 UTC : QBWebConnector.RegistryManager.getUpdateLock() : HKEY_CURRENT_USER\Software\Intuit\QBWebConnector UpdateLock = False`r`n"
            $null = Write-FakeFile -Path (Join-Path -Path $logFolder -ChildPath 'QWCLog.txt.1') -Text "20240429.19:00:00 UTC : QBWebConnector started`r`n"
            $alice = @($machine.Profiles | Where-Object { -not $_.Special })[0]
            $aliceUser = [pscustomobject]@{ UserName = 'alice'; Sid = [string]$alice.SID; Profile = [string]$alice.LocalPath }
            $bobUser = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
            $null = Add-FakeUser -Machine $machine -UserName 'carol'
            $password = 'encrypted-password-Zq8'
            $token = 'session-token-44x'
            $appKey = Add-FakeWebConnectorSettings -Machine $machine -User $aliceUser -Values @{ Password = $password; AuthToken = $token; OwnerID = '{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}'; AutoRunFlag = [int]1; Servers = [string[]]@('a', 'b'); PW = [byte[]](7, 7, 7); Data = 'opaque-data' }
            $null = Add-FakeWebConnectorSettings -Machine $machine -User $bobUser -AppName 'Other App' -Values @{ Pwd = 'bob-secret-pwd' }
            $null = Write-FakeQwcFile -User $aliceUser -Name 'codat.qwc' -Text (Get-FakeQwcText) -MinutesOld 5
            $null = Write-FakeQwcFile -User $aliceUser -Name 'entities.qwc' -Text ('<?xml version="1.0"?><!DOCTYPE QBWCXML [<!ENTITY a "aaaaaaaaaa">]><QBWCXML><AppName>&a;</AppName></QBWCXML>') -MinutesOld 20
            $null = Write-FakeQwcFile -User $aliceUser -Name 'plain-http.qwc' -Text (Get-FakeQwcText -AppName 'Plain' -AppUrl 'http://example.com/qbwc') -MinutesOld 30
            $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run' -Values @{ QBWebConnector = ('"{0}" -startup' -f $qbwc); OneDrive = '"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background' }
            $autoRun = Add-FakeAutoRunTool -Machine $machine
            $null = Add-FakeTask -Machine $machine -Name 'Codat Web Connector AutoRun' -TaskPath '\Codat\' -Execute $autoRun -UserId $aliceUser.Sid
            $null = Write-FakeShortcut -Path (Join-Path -Path $alice.LocalPath -ChildPath 'AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\Web Connector.lnk') -Target 'C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe'
        }

        It 'collects QWCLog and its rotated copies, each signed-in user''s settings redacted, the .qwc fields and the start-up entries' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $names = @('manifest.json', 'web-connector/registry.json', 'web-connector/registry.txt', 'web-connector/qwc-files.json', 'web-connector/startup.json')
            $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read $names
            foreach ($name in @($names) + @('connector/web-connector/QWCLog.txt', 'connector/web-connector/QWCLog_20240430.txt', 'connector/web-connector/QWCLog.txt.1')) {
                $bundle.Names | Should -Contain $name
            }
            @($bundle.Names | Where-Object { $_ -like 'web-connector/tasks/01-Codat_Codat Web Connector AutoRun.xml' }) | Should -HaveCount 1

            $registry = ConvertFrom-Json -InputObject $bundle.Texts['web-connector/registry.json']
            (@($registry.hives_read) | Sort-Object) -join '|' | Should -Be 'alice|bob'
            @($registry.hives_not_loaded) | Should -Be @('carol')
            @($registry.keys) | Should -HaveCount 6 -Because (ConvertTo-Json -InputObject @($registry.problems) -Depth 3)
            $app = @($registry.keys | Where-Object { $_.key -like '*\QB web connector\Codat QuickBooks Desktop' })
            $app | Should -HaveCount 1
            $app[0].user | Should -Be 'alice'
            $values = @{}
            foreach ($value in @($app[0].values)) { $values[$value.name] = $value }
            $values['Password'].data | Should -Be '***'
            $values['Password'].redacted | Should -BeTrue
            $values['AuthToken'].data | Should -Be '***'
            $values['OwnerID'].data | Should -Be '{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}'
            $values['OwnerID'].length | Should -Be 38
            # A name not known to be harmless: name, kind and nothing else.
            foreach ($unknown in @('AutoRunFlag', 'Servers', 'PW', 'Data')) {
                $values[$unknown].data | Should -Be '***'
                $values[$unknown].redacted | Should -BeTrue
                $values[$unknown].length | Should -BeNullOrEmpty
            }
            $values['AutoRunFlag'].kind | Should -Be 'DWord'
            $values['PW'].kind | Should -Be 'Binary'
            foreach ($text in @($bundle.Texts['web-connector/registry.json'], $bundle.Texts['web-connector/registry.txt'], $run.Json)) {
                $text | Should -Not -BeLike ('*{0}*' -f $password)
                $text | Should -Not -BeLike ('*{0}*' -f $token)
                $text | Should -Not -BeLike '*bob-secret-pwd*'
                $text | Should -Not -BeLike '*opaque-data*'
                $text | Should -Not -BeLike '*070707*'
            }
            $bundle.Texts['web-connector/registry.txt'] | Should -BeLike '*Password (String) = `*`*`**'
            # The passwords were never read, only listed by name.
            @($machine.RegistryReads | Where-Object { $_ -like '*\Password' -or $_ -like '*\Pwd' -or $_ -like '*\AuthToken' }) | Should -HaveCount 0
            @($machine.RegistryReads | Where-Object { $_ -like '*\OwnerID' }) | Should -HaveCount 1
            # Only names known to be harmless were read at all.
            @($machine.RegistryReads | ForEach-Object { $_.Substring($_.LastIndexOf('\') + 1) } | Sort-Object -Unique) | Should -Be @('Level', 'OwnerID', 'UpdateLock')

            $qwc = @(ConvertFrom-Json -InputObject $bundle.Texts['web-connector/qwc-files.json'])
            $qwc | Should -HaveCount 3
            $good = @($qwc | Where-Object { $_.path -like '*codat.qwc' })[0]
            $good.readable | Should -BeTrue
            $good.user | Should -Be 'alice'
            $good.app_name | Should -Be 'Codat QuickBooks Desktop'
            $good.app_url | Should -Be 'https://quickbooksdesktop.codat.io/qbwc'
            $good.app_url_https | Should -BeTrue
            $good.owner_id | Should -Be '{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}'
            $good.file_id | Should -Be '{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}'
            $good.qb_type | Should -Be 'QBFS'
            $good.user_name | Should -Be 'codat-6f1c2a3b'
            $good.run_every_n_minutes | Should -Be '30'
            $good.PSObject.Properties['app_support'] | Should -BeNullOrEmpty
            $entities = @($qwc | Where-Object { $_.path -like '*entities.qwc' })[0]
            $entities.readable | Should -BeFalse
            $entities.error | Should -BeLike '*DTD*'
            $entities.app_name | Should -BeNullOrEmpty
            $plain = @($qwc | Where-Object { $_.path -like '*plain-http.qwc' })[0]
            $plain.readable | Should -BeTrue
            $plain.app_url_https | Should -BeFalse

            $startup = ConvertFrom-Json -InputObject $bundle.Texts['web-connector/startup.json']
            $entries = @($startup.startup)
            (@($entries | ForEach-Object { $_.source }) | Sort-Object) -join '|' | Should -Be 'run-key|scheduled-task|startup-folder'
            $runEntry = @($entries | Where-Object { $_.source -eq 'run-key' })[0]
            $runEntry.name | Should -Be 'QBWebConnector'
            $runEntry.target | Should -Be $qbwc
            $runEntry.target_exists | Should -BeTrue
            $runEntry.location | Should -BeLike '*WOW6432Node*'
            $shortcut = @($entries | Where-Object { $_.source -eq 'startup-folder' })[0]
            $shortcut.user | Should -Be 'alice'
            $shortcut.target | Should -Be 'C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe'
            $taskEntry = @($entries | Where-Object { $_.source -eq 'scheduled-task' })[0]
            $taskEntry.location | Should -Be '\Codat\'
            $taskEntry.name | Should -Be 'Codat Web Connector AutoRun'
            $taskEntry.program | Should -Be 'codat'
            $taskEntry.target | Should -Be $autoRun
            @($startup.web_connector | ForEach-Object { $_.path }) | Should -Contain $qbwc
            @($startup.auto_run | Where-Object { $_.path -eq $autoRun }) | Should -HaveCount 1

            $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
            $manifest.web_connector.registry_keys | Should -Be 6
            $manifest.web_connector.registry_redacted | Should -Be 7
            $manifest.web_connector.qwc_files | Should -Be 3
            $manifest.web_connector.qwc_unreadable | Should -Be 1
            $manifest.web_connector.startup_entries | Should -Be 3
            foreach ($name in $names) {
                if ($name -eq 'manifest.json') { continue }
                @($manifest.files | Where-Object { $_.name -eq $name }) | Should -HaveCount 1
            }
            @($manifest.files | Where-Object { $_.name -eq 'web-connector/registry.json' })[0].redacted | Should -BeTrue
            (Get-ResultMessage -Result $run.Result -Text 'Web Connector: 6 registry key(s) from 2 loaded user hive(s), 3 .qwc file(s)') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'only values whose name is known to be harmless are read') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'settings of carol could not be read') | Should -HaveCount 1
        }

        It 'reads values of unknown names with -NoRedact but still never one named like a secret' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory; NoRedact = $true }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('web-connector/registry.json')
            $text = $bundle.Texts['web-connector/registry.json']
            $text | Should -Not -BeLike ('*{0}*' -f $token)
            $text | Should -Not -BeLike ('*{0}*' -f $password)
            $text | Should -Not -BeLike '*bob-secret-pwd*'
            @($machine.RegistryReads | Where-Object { $_ -like '*\Password' -or $_ -like '*\Pwd' }) | Should -HaveCount 0
            @($machine.RegistryReads | Where-Object { $_ -like '*\AuthToken' }) | Should -HaveCount 0
            @($machine.RegistryReads | Where-Object { $_ -like '*\Data' }) | Should -HaveCount 1
            $text | Should -BeLike '*opaque-data*'
        }

        It 'lists the Web Connector files under -WhatIf and leaves nothing behind' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory; WhatIf = $true }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.Result.data.bundle.path | Should -BeNullOrEmpty
            foreach ($name in @('web-connector/registry.json', 'web-connector/qwc-files.json', 'web-connector/startup.json', 'connector/web-connector/QWCLog.txt.1')) {
                @($run.Result.data.collected | Where-Object { $_.name -eq $name }) | Should -HaveCount 1
            }
            @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 0
        }

        It 'collects QWCLog.txt when the Web Connector''s folder is gone, and one user''s one .qwc file' {
            Remove-Item -LiteralPath $webConnectorFolder -Recurse -Force
            Remove-Item -LiteralPath (Join-Path -Path $aliceUser.Profile -ChildPath 'Downloads\entities.qwc')
            Remove-Item -LiteralPath (Join-Path -Path $aliceUser.Profile -ChildPath 'Downloads\plain-http.qwc')

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            @($run.Result.data.generations | Where-Object { $_.generation -eq 'web-connector' }) | Should -HaveCount 0
            $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('web-connector/qwc-files.json', 'web-connector/startup.json')
            $bundle.Names | Should -Contain 'connector/web-connector/QWCLog.txt'
            $qwc = @(ConvertFrom-Json -InputObject $bundle.Texts['web-connector/qwc-files.json'])
            $qwc | Should -HaveCount 1
            $qwc[0].app_name | Should -Be 'Codat QuickBooks Desktop'
            $startup = ConvertFrom-Json -InputObject $bundle.Texts['web-connector/startup.json']
            $runEntry = @($startup.startup | Where-Object { $_.source -eq 'run-key' })[0]
            $runEntry.target_exists | Should -BeFalse
        }
    }

    It 'refuses a relative output folder' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = 'bundles' }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultMessage -Result $run.Result -Text 'must be an absolute path') | Should -HaveCount 1
    }
}

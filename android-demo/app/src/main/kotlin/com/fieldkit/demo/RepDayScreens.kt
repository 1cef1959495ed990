// The Compose screens: login, then the day (tasks, route, the open visit with its check-in
// verdict, photo and SOP steps) under a sync status line with the offline banner, or the
// SOP form being filled in (SopScreens.kt). They render RepDayState and call
// RepDayViewModel's actions; the platform parts go through Device.
package com.fieldkit.demo

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import com.fieldkit.core.model.LocationFix
import com.fieldkit.demo.logic.Outcome
import com.fieldkit.demo.logic.PhotoCard
import com.fieldkit.demo.logic.RepDayState
import com.fieldkit.demo.logic.RepDayViewModel
import com.fieldkit.demo.logic.RouteStop
import com.fieldkit.demo.logic.SyncLine
import com.fieldkit.demo.logic.TaskRow
import com.fieldkit.demo.logic.VerdictCard
import com.fieldkit.demo.logic.VisitCard
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.text.DateFormat
import java.util.Date

/** What the screens need from the phone: map apps, the position, the camera. */
interface Device {
    /** Opens a navigation link, in `androidPackage` when given. */
    fun openUri(uri: String, androidPackage: String?)

    /** Reads the current position, then calls `use` with it. */
    fun withFix(use: (LocationFix) -> Unit)

    /** Runs the camera; the photo goes to RepDayViewModel.takePhoto. */
    fun takePhoto()
}

/** The whole app: a splash, the login screen, the day, or an SOP form. Messages show as snackbars. */
@Composable
fun RepDayApp(state: RepDayState, actions: RepDayViewModel, device: Device) {
    val snackbar = remember { SnackbarHostState() }
    LaunchedEffect(state.message) {
        val message = state.message ?: return@LaunchedEffect
        snackbar.showSnackbar(message.text)
        actions.messageShown()
    }
    val form = state.sop?.form
    Scaffold(snackbarHost = { SnackbarHost(snackbar) }) { padding ->
        Column(Modifier.padding(padding).fillMaxSize()) {
            when {
                state.loading -> Centered { CircularProgressIndicator() }
                state.user == null -> LoginScreen(loggingIn = state.loggingIn, onLogin = actions::login)
                form != null -> SopFormScreen(form, actions.sop)
                else -> DayScreen(state, actions, device)
            }
        }
    }
}

/** Centres `content` on the screen (the splash spinner). */
@Composable
private fun Centered(content: @Composable () -> Unit) {
    Column(Modifier.fillMaxSize(), verticalArrangement = Arrangement.Center, horizontalAlignment = Alignment.CenterHorizontally) {
        content()
    }
}

/** Username, password, and a button disabled while a login is in flight. */
@Composable
fun LoginScreen(loggingIn: Boolean, onLogin: (String, String) -> Unit) {
    var username by rememberSaveable { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("FieldKit", style = MaterialTheme.typography.headlineMedium)
        OutlinedTextField(username, { username = it }, label = { Text("Username") }, singleLine = true)
        OutlinedTextField(
            password,
            { password = it },
            label = { Text("Password") },
            singleLine = true,
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password),
        )
        Button(onClick = { onLogin(username, password) }, enabled = !loggingIn) {
            Text(if (loggingIn) "Logging in…" else "Log in")
        }
    }
}

/** The day: status line, the open visit, then Tasks / Route tabs. */
@Composable
fun DayScreen(state: RepDayState, actions: RepDayViewModel, device: Device) {
    var tab by rememberSaveable { mutableIntStateOf(0) }
    SyncStatusLine(state.sync, onSync = { actions.refresh() })
    VisitPanel(state, actions, device)
    Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp), verticalAlignment = Alignment.CenterVertically) {
        Text(state.user?.displayName.orEmpty(), Modifier.weight(1f))
        TextButton(onClick = { actions.logout() }) { Text("Log out") }
    }
    TabRow(selectedTabIndex = tab) {
        Tab(tab == 0, { tab = 0 }, text = { Text("Tasks (${state.tasks.size})") })
        Tab(tab == 1, { tab = 1 }, text = { Text("Route (${state.route.size})") })
    }
    when (tab) {
        0 -> TaskList(
            state.tasks,
            checkedIn = state.visit != null,
            onStart = { actions.startTask(it) },
            onFinish = { actions.finishTask(it) },
            onCheckIn = { id -> device.withFix { actions.checkIn(id, it) } },
        )
        else -> RouteList(
            state.route,
            planned = state.planned,
            onPlan = { device.withFix { actions.planDay(it.point.lat, it.point.lng) } },
            openUri = device::openUri,
        )
    }
}

/**
 * The check-in verdict (with a reason field when a stated reason would let it through), and
 * while checked in: the last photo, the SOP's steps, the photo button, and check-out.
 */
@Composable
fun VisitPanel(state: RepDayState, actions: RepDayViewModel, device: Device) {
    state.verdict?.let { verdict ->
        VerdictView(verdict, onRetry = { reason -> device.withFix { actions.checkIn(verdict.taskId, it, reason) } })
    }
    val visit: VisitCard = state.visit ?: return
    Card(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 6.dp)) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text("Checked in since " + DateFormat.getTimeInstance(DateFormat.SHORT).format(Date(visit.startedMs)))
            state.photo?.let { PhotoView(it) }
            state.sop?.let { SopSteps(it, actions.sop) }
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = device::takePhoto) { Text("Take photo") }
                OutlinedButton(onClick = { device.withFix { actions.checkOut(it) } }) { Text("Check out") }
            }
        }
    }
}

/** A verdict: headline, one line per reason, and the reason field when it would help. */
@Composable
fun VerdictView(verdict: VerdictCard, onRetry: (String) -> Unit) {
    val colors = MaterialTheme.colorScheme
    val background = when (verdict.outcome) {
        Outcome.ACCEPTED -> colors.secondaryContainer
        Outcome.FLAGGED -> colors.tertiaryContainer
        Outcome.REJECTED -> colors.errorContainer
    }
    var reason by remember { mutableStateOf("") }
    Column(Modifier.fillMaxWidth().background(background).padding(12.dp)) {
        Text(verdict.title, style = MaterialTheme.typography.titleSmall)
        verdict.reasons.forEach { Text("• $it", style = MaterialTheme.typography.bodySmall) }
        if (verdict.needsReason) {
            OutlinedTextField(reason, { reason = it }, label = { Text("Why are you checking in from here?") })
            Button(onClick = { onRetry(reason) }, enabled = reason.isNotBlank()) { Text("Check in with this reason") }
        }
    }
}

/**
 * The photo as stored: the stamped JPEG (watermark and all, read from [PhotoCard.file] off
 * the main thread), with the verification code printed in its watermark under it.
 */
@Composable
fun PhotoView(photo: PhotoCard) {
    val image by produceState<ImageBitmap?>(initialValue = null, photo.file) {
        value = photo.file?.let { path -> withContext(Dispatchers.IO) { decodePreview(path) } }
    }
    image?.let {
        Image(
            bitmap = it,
            contentDescription = "Photo with its watermark, code ${photo.verificationCode}",
            modifier = Modifier.fillMaxWidth().heightIn(max = 200.dp),
            contentScale = ContentScale.Fit,
        )
    }
    Text(
        "Code ${photo.verificationCode} · ${photo.width}×${photo.height}, ${photo.sizeBytes / 1024} KB" +
            if (photo.signed) " · signed" else " · unsigned",
        style = MaterialTheme.typography.bodySmall,
    )
}

/** Decodes the JPEG at `path` at most [PREVIEW_PX] wide (a power-of-two subsample); null if unreadable. */
private fun decodePreview(path: String): ImageBitmap? {
    val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
    BitmapFactory.decodeFile(path, bounds)
    if (bounds.outWidth <= 0) return null
    var sample = 1
    while (bounds.outWidth / (sample * 2) >= PREVIEW_PX) sample *= 2
    val bitmap = BitmapFactory.decodeFile(path, BitmapFactory.Options().apply { inSampleSize = sample })
    return bitmap?.asImageBitmap()
}

/** Width the photo preview is decoded at, at most: enough for a phone screen. */
private const val PREVIEW_PX = 1080

/** Offline banner, queue counts, last sync and the "Sync now" button. */
@Composable
fun SyncStatusLine(sync: SyncLine, onSync: () -> Unit) {
    if (sync.offline) {
        Text(
            "Offline — your work is saved and will be sent when you're back online.",
            Modifier.fillMaxWidth().background(MaterialTheme.colorScheme.errorContainer).padding(12.dp),
            color = MaterialTheme.colorScheme.onErrorContainer,
        )
    }
    Row(Modifier.fillMaxWidth().padding(16.dp), verticalAlignment = Alignment.CenterVertically) {
        Column(Modifier.weight(1f)) {
            Text("${sync.pending} waiting to send" + if (sync.filesPending > 0) ", ${sync.filesPending} photos" else "")
            if (sync.parked > 0) Text("${sync.parked} refused by the server", color = MaterialTheme.colorScheme.error)
            Text(
                "Last sync: " + (sync.lastSyncMs?.let { DateFormat.getTimeInstance(DateFormat.SHORT).format(Date(it)) } ?: "never"),
                style = MaterialTheme.typography.bodySmall,
            )
        }
        if (sync.syncing) CircularProgressIndicator() else OutlinedButton(onClick = onSync) { Text("Sync now") }
    }
}

/** The rep's tasks with Start / Check in / Done buttons. */
@Composable
fun TaskList(
    tasks: List<TaskRow>,
    checkedIn: Boolean,
    onStart: (String) -> Unit,
    onFinish: (String) -> Unit,
    onCheckIn: (String) -> Unit,
) {
    if (tasks.isEmpty()) {
        Text("No tasks. Pull the latest with “Sync now”.", Modifier.padding(16.dp))
        return
    }
    LazyColumn(Modifier.fillMaxSize()) {
        items(tasks, key = { it.id }) { task ->
            Card(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 6.dp)) {
                Column(Modifier.padding(12.dp)) {
                    Text(task.title, style = MaterialTheme.typography.titleMedium)
                    Text("${task.status.name.lowercase().replace('_', ' ')} · ${task.address}", style = MaterialTheme.typography.bodySmall)
                    task.deadlineMs?.let {
                        Text("Due " + DateFormat.getDateTimeInstance(DateFormat.SHORT, DateFormat.SHORT).format(Date(it)))
                    }
                    Row {
                        if (task.canStart) OutlinedButton(onClick = { onStart(task.id) }) { Text("Start") }
                        Spacer(Modifier.width(8.dp))
                        if (task.canFinish && task.customerId != null && !checkedIn) {
                            OutlinedButton(onClick = { onCheckIn(task.id) }) { Text("Check in") }
                            Spacer(Modifier.width(8.dp))
                        }
                        if (task.canFinish) Button(onClick = { onFinish(task.id) }) { Text("Done") }
                    }
                }
            }
        }
    }
}

/** Today's stops in order, each with its navigation buttons; "Plan my day" on top. */
@Composable
fun RouteList(route: List<RouteStop>, planned: Boolean, onPlan: () -> Unit, openUri: (String, String?) -> Unit) {
    OutlinedButton(onClick = onPlan, modifier = Modifier.padding(horizontal = 16.dp)) {
        Text(if (planned) "Plan again from here" else "Plan my day")
    }
    if (route.isEmpty()) {
        Text("Nothing left to visit today.", Modifier.padding(16.dp))
        return
    }
    LazyColumn(Modifier.fillMaxSize()) {
        items(route, key = { it.taskId }) { stop ->
            Card(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 6.dp)) {
                Column(Modifier.padding(12.dp)) {
                    Text("${stop.order}. ${stop.title}", style = MaterialTheme.typography.titleMedium)
                    Text(stop.address, style = MaterialTheme.typography.bodySmall)
                    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                        stop.navigation.forEach { button ->
                            OutlinedButton(onClick = { openUri(button.uri, button.androidPackage) }) { Text(button.label) }
                        }
                    }
                }
            }
        }
    }
}
